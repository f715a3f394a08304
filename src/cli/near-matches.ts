/** "Did you mean": the known names closest to a mistyped one (edit distance, or one containing the other). */

/** Levenshtein distance (insertions, deletions, substitutions), case-insensitive. */
function distance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[t.length]!;
}

/** Up to `max` of `names` near `given`, closest first; [] when none is close. */
export function nearMatches(given: string, names: readonly string[], max = 3): string[] {
  const g = given.toLowerCase();
  const within = Math.max(2, Math.floor(given.length / 3));
  return names
    .map((name) => {
      const n = name.toLowerCase();
      const d = n.includes(g) || g.includes(n) ? 0.5 : distance(given, name);
      return { name, d };
    })
    .filter((c) => c.d <= within && c.name !== given)
    .sort((a, b) => a.d - b.d || a.name.localeCompare(b.name))
    .slice(0, max)
    .map((c) => c.name);
}

/** "no VM named 'x'" plus the near matches, or every name when there are few. */
export function unknownVmMessage(given: string, names: readonly string[]): string {
  const near = nearMatches(given, names);
  if (near.length > 0) return `no VM named '${given}'; did you mean ${near.map((n) => `'${n}'`).join(", ")}?`;
  if (names.length === 0) return `no VM named '${given}' (libvirt lists no VM)`;
  const shown = names.slice(0, 8).join(", ");
  return `no VM named '${given}'; VMs: ${shown}${names.length > 8 ? `, ... (${names.length})` : ""}`;
}

/**
 * Names close to one the operator typed, for "unknown VM" errors: the known names that contain it, start alike
 * or are within a few typos (edit distance at most a third of the longer name, at least 2), closest first.
 */

/** Levenshtein distance (insert, delete, substitute), two rows. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

export function nearMatches(name: string, known: readonly string[], max = 5): string[] {
  const typed = name.toLowerCase();
  return known
    .map((k) => {
      const lower = k.toLowerCase();
      const d = editDistance(typed, lower);
      const close = d <= Math.max(2, Math.floor(Math.max(typed.length, lower.length) / 3));
      return { k, d, hit: close || lower.includes(typed) || typed.includes(lower) };
    })
    .filter((m) => m.hit)
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
    .slice(0, max)
    .map((m) => m.k);
}

/** "no VM named 'x'" plus the near matches, or every name when there are few. */
export function unknownVmMessage(given: string, names: readonly string[]): string {
  const near = nearMatches(given, names, 3);
  if (near.length > 0) return `no VM named '${given}'; did you mean ${near.map((n) => `'${n}'`).join(", ")}?`;
  if (names.length === 0) return `no VM named '${given}' (libvirt lists no VM)`;
  const shown = names.slice(0, 8).join(", ");
  return `no VM named '${given}'; VMs: ${shown}${names.length > 8 ? `, ... (${names.length})` : ""}`;
}

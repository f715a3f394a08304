/**
 * Names close to one the operator typed, for "unknown VM" errors: the known names that contain it (also with
 * `-`, `_`, `.` left out: "lab1" finds "kvmon-lab-1"), then the closest of those within a few typos (edit
 * distance at most a third of the longer name, at least 2).
 */
import { CliError } from "./errors.ts";

/** The code of every "no such VM" error in the CLI: the one libvirt and the agent answer with. */
export const UNKNOWN_VM_CODE = "LIBVIRT_NO_DOMAIN";

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

const bare = (s: string) => s.replace(/[-_.]/g, "");

/**
 * Up to `max` names near `name`: those containing it (or contained in it) first, then the typos.
 * @example nearMatches("lab1", ["kvmon-lab-1", "web"]) // ["kvmon-lab-1"]
 */
export function nearMatches(name: string, known: readonly string[], max = 3): string[] {
  const typed = name.toLowerCase();
  const scored = known.map((k) => {
    const lower = k.toLowerCase();
    const d = editDistance(typed, lower);
    const contains = lower.includes(typed) || typed.includes(lower) || bare(lower).includes(bare(typed));
    const close = d <= Math.max(2, Math.floor(Math.max(typed.length, lower.length) / 3));
    return { k, d, contains, close };
  });
  // Of the typos, only the closest: "kvmon-lab-3" suggests lab-1 and lab-2, not also lab-kvm.
  const typos = scored.filter((m) => !m.contains && m.close);
  const best = Math.min(...typos.map((m) => m.d));
  return [
    ...scored.filter((m) => m.contains).sort((a, b) => a.d - b.d || a.k.localeCompare(b.k)),
    ...typos.filter((m) => m.d === best).sort((a, b) => a.k.localeCompare(b.k)),
  ]
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

/** An unknown VM typed at a prompt (the shell): the near matches as the hint, for the prompt to show. */
export class UnknownVmError extends CliError {
  override name = "UnknownVmError";
  readonly suggestions: string[];
  constructor(typed: string, names: readonly string[]) {
    const near = nearMatches(typed, names);
    super(`no VM named '${typed}'`, {
      code: UNKNOWN_VM_CODE,
      hint:
        near.length > 0 ? `did you mean: ${near.join(", ")}?` : `known VMs: ${names.join(", ") || "none"}`,
    });
    this.suggestions = near;
  }
}

/** The VM named `typed` (exact name or UUID) of those listed, or an UnknownVmError with near matches. */
export function findNamedVm<T extends { name: string; uuid: string }>(vms: readonly T[], typed: string): T {
  const vm = vms.find((x) => x.name === typed) ?? vms.find((x) => x.uuid === typed.toLowerCase());
  if (!vm)
    throw new UnknownVmError(
      typed,
      vms.map((x) => x.name),
    );
  return vm;
}

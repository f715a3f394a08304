/** VM names typed by an operator: the domain they mean, or an error listing the names closest to the typo. */
import type { DomainSample } from "../../model/types.ts";
import { CliError } from "../errors.ts";

/** Edit distance (insert, delete, substitute: one each). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * Up to `max` names near `typed`: names containing it (or contained in it), then the names at the smallest edit
 * distance, if that is at most a third of the longer name (at least 2).
 * @example nearMatches("lab1", ["kvmon-lab-1", "web"]) // ["kvmon-lab-1"]
 */
export function nearMatches(typed: string, names: readonly string[], max = 3): string[] {
  const t = typed.toLowerCase();
  const scored = names.map((name) => {
    const n = name.toLowerCase();
    const contains =
      n.includes(t) || t.includes(n) || n.replace(/[-_.]/g, "").includes(t.replace(/[-_.]/g, ""));
    return {
      name,
      contains,
      d: editDistance(t, n),
      limit: Math.max(2, Math.floor(Math.max(t.length, n.length) / 3)),
    };
  });
  // Of the typos, only the closest: "kvmon-lab-3" suggests lab-1 and lab-2, not also lab-kvm.
  const typos = scored.filter((s) => !s.contains && s.d <= s.limit);
  const best = Math.min(...typos.map((s) => s.d));
  return [
    ...scored.filter((s) => s.contains).sort((a, b) => a.d - b.d || a.name.localeCompare(b.name)),
    ...typos.filter((s) => s.d === best).sort((a, b) => a.name.localeCompare(b.name)),
  ]
    .slice(0, max)
    .map((s) => s.name);
}

export class UnknownVmError extends CliError {
  override name = "UnknownVmError";
  readonly suggestions: string[];
  constructor(typed: string, names: readonly string[]) {
    const near = nearMatches(typed, names);
    super(`no VM named '${typed}'`, {
      code: "VM_NOT_FOUND",
      hint:
        near.length > 0 ? `did you mean: ${near.join(", ")}?` : `known VMs: ${names.join(", ") || "none"}`,
    });
    this.suggestions = near;
  }
}

/** The domain named `typed` (exact name or UUID), or an UnknownVmError with near matches. */
export function findDomain(domains: readonly DomainSample[], typed: string): DomainSample {
  const d = domains.find((x) => x.name === typed) ?? domains.find((x) => x.uuid === typed.toLowerCase());
  if (!d)
    throw new UnknownVmError(
      typed,
      domains.map((x) => x.name),
    );
  return d;
}

/**
 * The series dictionary's in-memory side: canonical label keys (id <-> sorted label set) and the inverted
 * index (label name -> value -> series ids) that answers matchers.
 */
import { StorageQueryError } from "../errors.ts";
import type { Labels, Matcher } from "../types.ts";

/** The canonical form of a label set: its pairs sorted by name, as JSON (stored in the series table). */
export function canonicalKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  const pairs: string[] = new Array<string>(names.length * 2);
  for (let i = 0; i < names.length; i++) {
    pairs[2 * i] = names[i]!;
    pairs[2 * i + 1] = labels[names[i]!]!;
  }
  return JSON.stringify(pairs);
}

export function labelsOfKey(key: string): Labels {
  const pairs = JSON.parse(key) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i < pairs.length; i += 2) out[pairs[i]!] = pairs[i + 1]!;
  return out;
}

/** A matcher as a predicate on one label's value ("" when the series lacks the label, as in Prometheus). */
export function matcherPredicate(m: Matcher): (value: string) => boolean {
  switch (m.op) {
    case "=":
      return (v) => v === m.value;
    case "!=":
      return (v) => v !== m.value;
    case "=~":
    case "!~": {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${m.value})$`, "s");
      } catch (cause) {
        throw new StorageQueryError(`invalid regex in matcher ${m.name}${m.op}"${m.value}"`, { cause });
      }
      return m.op === "=~" ? (v) => re.test(v) : (v) => !re.test(v);
    }
  }
}

export class Postings {
  private readonly byName = new Map<string, Map<string, Set<number>>>();
  private readonly all = new Set<number>();

  add(id: number, labels: Labels): void {
    this.all.add(id);
    for (const [name, value] of Object.entries(labels)) {
      let values = this.byName.get(name);
      if (!values) this.byName.set(name, (values = new Map()));
      let ids = values.get(value);
      if (!ids) values.set(value, (ids = new Set()));
      ids.add(id);
    }
  }

  remove(id: number, labels: Labels): void {
    this.all.delete(id);
    for (const [name, value] of Object.entries(labels)) {
      const values = this.byName.get(name);
      const ids = values?.get(value);
      ids?.delete(id);
      if (ids?.size === 0) values!.delete(value);
      if (values?.size === 0) this.byName.delete(name);
    }
  }

  /** Ids of the series matching every matcher, ascending (all series for no matchers). */
  select(matchers: readonly Matcher[]): number[] {
    let result: Set<number> | undefined;
    // Narrow first with the matchers that cannot match an absent label: they give the smallest sets.
    const ordered = matchers
      .map((m) => ({ m, test: matcherPredicate(m) }))
      .sort((a, b) => Number(a.test("")) - Number(b.test("")));
    for (const { m, test } of ordered) {
      const values = this.byName.get(m.name);
      if (test("")) {
        // Matches series without the label too: remove those whose value fails.
        const keep = new Set(result ?? this.all);
        for (const [value, ids] of values ?? []) if (!test(value)) for (const id of ids) keep.delete(id);
        result = keep;
      } else {
        const hit = new Set<number>();
        for (const [value, ids] of values ?? []) {
          if (!test(value)) continue;
          for (const id of ids) if (!result || result.has(id)) hit.add(id);
        }
        result = hit;
      }
      if (result.size === 0) return [];
    }
    return [...(result ?? this.all)].sort((a, b) => a - b);
  }

  get size(): number {
    return this.all.size;
  }

  /** How many series carry `name="value"`. */
  count(name: string, value: string): number {
    return this.byName.get(name)?.get(value)?.size ?? 0;
  }
}

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

/** The murmur3 finaliser: spreads FNV's low-entropy high bits. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a state after each label name and a separator: names are few (and, as object keys, interned strings). */
const nameStates = new Map<string, number>();

function nameState(name: string): number {
  let h = nameStates.get(name);
  if (h === undefined) {
    h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0xffff, 0x01000193);
    if (nameStates.size < 10_000) nameStates.set(name, h);
  }
  return h;
}

/**
 * A 30-bit hash of a label set (a small integer, V8's fastest Map key) that does not depend on the pairs'
 * order (a sum of per-pair FNV-1a hashes), so a lookup needs neither a sort nor a key string: the ingest
 * path's hot spot. Equal hashes are told apart by comparing the labels.
 */
export function labelsHash(labels: Labels): number {
  let sum = 0;
  for (const name in labels) {
    const value = labels[name]!;
    let h = nameState(name);
    // Two UTF-16 units a step (FNV-style, 32-bit words): half the multiplications of one a step.
    const n = value.length;
    let i = 0;
    for (; i + 1 < n; i += 2)
      h = Math.imul(h ^ (value.charCodeAt(i) | (value.charCodeAt(i + 1) << 16)), 0x01000193);
    if (i < n) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
    sum = (sum + mix(h ^ n)) | 0;
  }
  return sum & 0x3fffffff;
}

function sameLabels(a: Labels, b: Labels): boolean {
  let n = 0;
  for (const name in b) {
    if (a[name] !== b[name]) return false;
    n++;
  }
  for (const _ in a) n--;
  return n === 0;
}

/** The series dictionary's lookup by label set: hash buckets (almost always of one entry). */
export class SeriesDictionary<T extends { readonly labels: Labels }> {
  private readonly byHash = new Map<number, T[]>();

  get(labels: Labels): T | undefined {
    const bucket = this.byHash.get(labelsHash(labels));
    if (!bucket) return undefined;
    for (const entry of bucket) if (sameLabels(entry.labels, labels)) return entry;
    return undefined;
  }

  add(entry: T): void {
    const h = labelsHash(entry.labels);
    const bucket = this.byHash.get(h);
    if (bucket) bucket.push(entry);
    else this.byHash.set(h, [entry]);
  }

  delete(entry: T): void {
    const h = labelsHash(entry.labels);
    const bucket = this.byHash.get(h)?.filter((e) => e !== entry);
    if (bucket?.length) this.byHash.set(h, bucket);
    else this.byHash.delete(h);
  }
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

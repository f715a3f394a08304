/** Label-set helpers of the evaluator: identity keys, the metric name, grouping. */
import type { Labels } from "../storage/types.ts";

const SEP = "\xff";

// Label sets are immutable and the same objects come back at every step of a range query, so what is derived
// from one (its key, its set without the name) is computed once per object.
const keys = new WeakMap<Labels, string>();
const withoutName = new WeakMap<Labels, Labels>();

/** A string equal for equal label sets (any key order): the identity used for maps and duplicate checks. */
export function labelsKey(labels: Labels): string {
  let key = keys.get(labels);
  if (key === undefined) {
    key = Object.keys(labels)
      .sort()
      .map((k) => `${k}${SEP}${labels[k] ?? ""}`)
      .join(SEP);
    keys.set(labels, key);
  }
  return key;
}

/** The labels without `__name__`: what functions and arithmetic return, since the result is no longer that metric. */
export function dropName(labels: Labels): Labels {
  if (!("__name__" in labels)) return labels;
  let rest = withoutName.get(labels);
  if (rest === undefined) {
    const { __name__: _, ...others } = labels;
    rest = others;
    withoutName.set(labels, rest);
  }
  return rest;
}

/** Only the named labels that are present (and non-empty). */
export function keepLabels(labels: Labels, names: readonly string[]): Labels {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = labels[n];
    if (v !== undefined && v !== "") out[n] = v;
  }
  return out;
}

/** Every label but the named ones. */
export function withoutLabels(labels: Labels, names: readonly string[]): Labels {
  const out: Record<string, string> = { ...labels };
  for (const n of names) delete out[n];
  return out;
}

/** Orders label sets as Prometheus sorts a matrix: by name, then value, label by label. */
export function compareLabels(a: Labels, b: Labels): number {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    const na = ka[i] as string;
    const nb = kb[i] as string;
    if (na !== nb) return na < nb ? -1 : 1;
    const va = a[na] as string;
    const vb = b[nb] as string;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return ka.length - kb.length;
}

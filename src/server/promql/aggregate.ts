/** PromQL aggregation operators over one instant vector, grouped `by` or `without` labels (Prometheus 2.42). */
import type { Labels } from "../storage/types.ts";
import type { AggregateOp, Grouping } from "./ast.ts";
import { PromqlExecutionError } from "./errors.ts";
import { keepLabels, labelsKey, withoutLabels } from "./labels.ts";
import { quantile, runningMean, variance } from "./stats.ts";
import { formatValue, type InstantSample } from "./values.ts";

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Each series' group labels, once per label set and grouping clause (both live for the whole query). */
const groupCache = new WeakMap<Grouping, WeakMap<Labels, Labels>>();

function groupLabels(labels: Labels, grouping: Grouping): Labels {
  let byLabels = groupCache.get(grouping);
  if (byLabels === undefined) groupCache.set(grouping, (byLabels = new WeakMap()));
  let out = byLabels.get(labels);
  if (out === undefined) {
    out = grouping.without
      ? withoutLabels(labels, ["__name__", ...grouping.labels])
      : keepLabels(labels, grouping.labels);
    byLabels.set(labels, out);
  }
  return out;
}

/** The input's groups, in order of first appearance. */
function groupsOf(
  input: readonly InstantSample[],
  grouping: Grouping,
): { labels: Labels; members: InstantSample[] }[] {
  // No `by` labels and no `without`: one group of everything (`topk(20, ...)` over a fleet), no key per series.
  if (!grouping.without && grouping.labels.length === 0)
    return input.length === 0 ? [] : [{ labels: {}, members: [...input] }];
  const groups = new Map<string, { labels: Labels; members: InstantSample[] }>();
  for (const s of input) {
    const labels = groupLabels(s.labels, grouping);
    const key = labelsKey(labels);
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { labels, members: [] }));
    group.members.push(s);
  }
  return [...groups.values()];
}

/** `param` is k of topk/bottomk, φ of quantile, the label name of count_values. */
export function aggregate(
  op: AggregateOp,
  input: readonly InstantSample[],
  grouping: Grouping,
  param: number | string | undefined,
): InstantSample[] {
  const all = groupsOf(input, grouping);
  switch (op) {
    case "topk":
    case "bottomk": {
      const k = Math.trunc(Number(param));
      if (!(k >= 1)) return [];
      const sign = op === "topk" ? -1 : 1;
      // NaN is never among the top or bottom k while other values exist, as in Prometheus.
      const order = (a: InstantSample, b: InstantSample): number =>
        Number.isNaN(a.v) ? (Number.isNaN(b.v) ? 0 : 1) : Number.isNaN(b.v) ? -1 : sign * (a.v - b.v) || 0;
      return all.flatMap((g) => [...g.members].sort(order).slice(0, k));
    }
    case "count_values": {
      const label = String(param);
      if (!LABEL_NAME.test(label)) throw new PromqlExecutionError(`invalid label name "${label}"`);
      return all.flatMap(({ labels, members }) => {
        const counts = new Map<string, number>();
        for (const m of members) counts.set(formatValue(m.v), (counts.get(formatValue(m.v)) ?? 0) + 1);
        return [...counts].map(([value, v]) => ({ labels: { ...labels, [label]: value }, v }));
      });
    }
    default:
      return all.map(({ labels, members }) => ({
        labels,
        v: reduce(
          op,
          members.map((m) => m.v),
          Number(param),
        ),
      }));
  }
}

function reduce(op: AggregateOp, values: readonly number[], phi: number): number {
  switch (op) {
    case "sum":
      return values.reduce((a, b) => a + b, 0);
    case "count":
      return values.length;
    case "group":
      return 1;
    case "avg":
      return runningMean(values);
    case "min":
      return values.reduce((acc, v) => (acc > v || Number.isNaN(acc) ? v : acc));
    case "max":
      return values.reduce((acc, v) => (acc < v || Number.isNaN(acc) ? v : acc));
    case "stdvar":
      return variance(values);
    case "stddev":
      return Math.sqrt(variance(values));
    case "quantile":
      return quantile(phi, values);
    default:
      throw new PromqlExecutionError(`aggregation ${op} is not a reduction`);
  }
}

/**
 * The PromQL functions kvmon evaluates, as data: argument types (checked at parse time, as Prometheus does) and
 * what each computes. Functions over a range vector see one series' samples inside the window; functions over an
 * instant vector map each sample's value.
 */
import type { Sample } from "../storage/types.ts";
import type { ValueType } from "./ast.ts";
import { linearRegression, quantile, runningMean, variance } from "./stats.ts";

/** The window a range function sees: `[startMs, endMs]` and its samples inside it, ascending. */
export interface Window {
  readonly startMs: number;
  readonly endMs: number;
  readonly rangeMs: number;
  /** The evaluation time (the window's end before any offset). */
  readonly evalMs: number;
  readonly samples: readonly Sample[];
}

interface Signature {
  readonly args: readonly ValueType[];
  /** How many trailing arguments may be left out. */
  readonly optional?: number;
  /** The last argument may repeat (label_join's source labels). */
  readonly variadic?: boolean;
  readonly returns: ValueType;
}

export interface RangeFunction extends Signature {
  readonly kind: "range";
  /** The window and the function's scalar arguments; undefined: the series has no value at this step. */
  readonly apply: (w: Window, params: readonly number[]) => number | undefined;
  /** last_over_time keeps the metric name (it acts like an offset); every other function drops it. */
  readonly keepName?: boolean;
}

export interface ValueFunction extends Signature {
  readonly kind: "value";
  /** The sample's value and the function's scalar arguments. */
  readonly apply: (v: number, params: readonly number[]) => number;
}

/** scalar(), vector(), time(), absent(), timestamp(), sort(), label_replace(), ...: evaluated by the engine. */
export interface SpecialFunction extends Signature {
  readonly kind: "special";
}

export type FunctionDef = RangeFunction | ValueFunction | SpecialFunction;

const range = (apply: RangeFunction["apply"], keepName = false): RangeFunction => ({
  kind: "range",
  args: ["matrix"],
  returns: "vector",
  apply,
  keepName,
});

/** A range function of the window's values, absent for an empty window. */
const overValues = (f: (values: number[]) => number): RangeFunction =>
  range((w) => (w.samples.length === 0 ? undefined : f(w.samples.map((s) => s.v))));

const special = (
  args: readonly ValueType[],
  returns: ValueType,
  more: Partial<Signature> = {},
): SpecialFunction => ({
  kind: "special",
  args,
  returns,
  ...more,
});

const math = (f: (v: number) => number): ValueFunction => ({
  kind: "value",
  args: ["vector"],
  returns: "vector",
  apply: (v) => f(v),
});

/**
 * Prometheus' extrapolated rate (promql/functions.go, v2.42): the change over the window, counter resets added
 * back, extrapolated towards the window's edges by up to half a sample interval (or to where the counter would
 * have been zero), and per second for rate.
 */
function extrapolatedDelta(w: Window, isCounter: boolean, isRate: boolean): number | undefined {
  const s = w.samples;
  const first = s[0];
  const last = s[s.length - 1];
  if (s.length < 2 || first === undefined || last === undefined) return undefined;
  let result = last.v - first.v;
  if (isCounter) {
    let previous = 0;
    for (const sample of s) {
      if (sample.v < previous) result += previous;
      previous = sample.v;
    }
  }
  let durationToStart = (first.t - w.startMs) / 1000;
  const durationToEnd = (w.endMs - last.t) / 1000;
  const sampledInterval = (last.t - first.t) / 1000;
  const averageInterval = sampledInterval / (s.length - 1);
  if (isCounter && result > 0 && first.v >= 0) {
    const durationToZero = sampledInterval * (first.v / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const threshold = averageInterval * 1.1;
  let extrapolateTo = sampledInterval;
  extrapolateTo += durationToStart < threshold ? durationToStart : averageInterval / 2;
  extrapolateTo += durationToEnd < threshold ? durationToEnd : averageInterval / 2;
  result *= extrapolateTo / sampledInterval;
  return isRate ? result / (w.rangeMs / 1000) : result;
}

/** irate: the per-second change between the last two samples (a drop is a counter reset: the last value). */
function instantRate(w: Window): number | undefined {
  const s = w.samples;
  const last = s[s.length - 1];
  const previous = s[s.length - 2];
  if (last === undefined || previous === undefined) return undefined;
  const seconds = (last.t - previous.t) / 1000;
  if (seconds === 0) return undefined;
  const change = last.v < previous.v ? last.v : last.v - previous.v;
  return change / seconds;
}

function fold(w: Window, f: (acc: number, v: number) => number): number | undefined {
  const first = w.samples[0];
  if (first === undefined) return undefined;
  let acc = first.v;
  for (let i = 1; i < w.samples.length; i++) acc = f(acc, (w.samples[i] as Sample).v);
  return acc;
}

/** changes and resets: how many neighbouring samples differ (NaN to NaN is no change), or drop. */
function countPairs(w: Window, counts: (previous: number, current: number) => boolean): number | undefined {
  if (w.samples.length === 0) return undefined;
  let n = 0;
  for (let i = 1; i < w.samples.length; i++) {
    if (counts((w.samples[i - 1] as Sample).v, (w.samples[i] as Sample).v)) n++;
  }
  return n;
}

/** Prometheus' min/max_over_time: NaN only when every value is NaN. */
const extreme = (better: (a: number, b: number) => boolean) => (w: Window) =>
  fold(w, (acc, v) => (better(v, acc) || Number.isNaN(acc) ? v : acc));

/** Prometheus' round: half up, to the nearest multiple of `toNearest` (default 1). */
function round(v: number, params: readonly number[]): number {
  const inverse = 1 / (params[0] ?? 1);
  return Math.floor(v * inverse + 0.5) / inverse;
}

export const FUNCTIONS: Readonly<Record<string, FunctionDef>> = {
  rate: range((w) => extrapolatedDelta(w, true, true)),
  increase: range((w) => extrapolatedDelta(w, true, false)),
  delta: range((w) => extrapolatedDelta(w, false, false)),
  irate: range(instantRate),
  avg_over_time: overValues(runningMean),
  min_over_time: range(extreme((a, b) => a < b)),
  max_over_time: range(extreme((a, b) => a > b)),
  sum_over_time: range((w) => fold(w, (acc, v) => acc + v)),
  count_over_time: range((w) => (w.samples.length === 0 ? undefined : w.samples.length)),
  last_over_time: range((w) => w.samples[w.samples.length - 1]?.v, true),
  present_over_time: range((w) => (w.samples.length === 0 ? undefined : 1)),
  stdvar_over_time: overValues(variance),
  stddev_over_time: overValues((values) => Math.sqrt(variance(values))),
  quantile_over_time: {
    kind: "range",
    args: ["scalar", "matrix"],
    returns: "vector",
    apply: (w, [phi = NaN]) =>
      w.samples.length === 0
        ? undefined
        : quantile(
            phi,
            w.samples.map((s) => s.v),
          ),
  },
  changes: range((w) => countPairs(w, (a, b) => a !== b && !(Number.isNaN(a) && Number.isNaN(b)))),
  resets: range((w) => countPairs(w, (a, b) => b < a)),
  idelta: range((w) => {
    const [previous, last] = w.samples.slice(-2);
    return previous === undefined || last === undefined ? undefined : last.v - previous.v;
  }),
  // Prometheus fits from the first sample's time to keep the numbers small (prometheus#2674).
  deriv: range((w) =>
    w.samples.length < 2 ? undefined : linearRegression(w.samples, (w.samples[0] as Sample).t).slope,
  ),
  predict_linear: {
    kind: "range",
    args: ["matrix", "scalar"],
    returns: "vector",
    apply: (w, [seconds = 0]) => {
      if (w.samples.length < 2) return undefined;
      const { slope, intercept } = linearRegression(w.samples, w.evalMs);
      return slope * seconds + intercept;
    },
  },
  abs: math(Math.abs),
  ceil: math(Math.ceil),
  floor: math(Math.floor),
  sqrt: math(Math.sqrt),
  exp: math(Math.exp),
  ln: math(Math.log),
  log2: math(Math.log2),
  log10: math(Math.log10),
  sgn: math(Math.sign),
  deg: math((v) => (v * 180) / Math.PI),
  rad: math((v) => (v * Math.PI) / 180),
  round: { kind: "value", args: ["vector", "scalar"], optional: 1, returns: "vector", apply: round },
  clamp: {
    kind: "value",
    args: ["vector", "scalar", "scalar"],
    returns: "vector",
    // Prometheus returns no sample at all when min > max; the engine checks that before calling.
    apply: (v, [min = -Infinity, max = Infinity]) => Math.max(min, Math.min(max, v)),
  },
  clamp_min: {
    kind: "value",
    args: ["vector", "scalar"],
    returns: "vector",
    apply: (v, [min = -Infinity]) => Math.max(min, v),
  },
  clamp_max: {
    kind: "value",
    args: ["vector", "scalar"],
    returns: "vector",
    apply: (v, [max = Infinity]) => Math.min(max, v),
  },
  scalar: special(["vector"], "scalar"),
  vector: special(["scalar"], "vector"),
  time: special([], "scalar"),
  timestamp: special(["vector"], "vector"),
  absent: special(["vector"], "vector"),
  absent_over_time: special(["matrix"], "vector"),
  sort: special(["vector"], "vector"),
  sort_desc: special(["vector"], "vector"),
  label_replace: special(["vector", "string", "string", "string", "string"], "vector"),
  label_join: special(["vector", "string", "string", "string"], "vector", { optional: 1, variadic: true }),
};

/**
 * The PromQL functions kvmon evaluates, as data: argument types (checked at parse time, as Prometheus does) and
 * what each computes. Functions over a range vector see one series' samples inside the window; functions over an
 * instant vector map each sample's value.
 */
import type { Sample } from "../storage/types.ts";
import type { ValueType } from "./ast.ts";

/** The window a range function sees: `[startMs, endMs]` and its samples inside it, ascending. */
export interface Window {
  readonly startMs: number;
  readonly endMs: number;
  readonly rangeMs: number;
  readonly samples: readonly Sample[];
}

interface Signature {
  readonly args: readonly ValueType[];
  /** How many trailing arguments may be left out. */
  readonly optional?: number;
  readonly returns: ValueType;
}

export interface RangeFunction extends Signature {
  readonly kind: "range";
  /** undefined: the series has no value at this step. */
  readonly apply: (w: Window) => number | undefined;
  /** last_over_time keeps the metric name (it acts like an offset); every other function drops it. */
  readonly keepName?: boolean;
}

export interface ValueFunction extends Signature {
  readonly kind: "value";
  /** The sample's value and the function's scalar arguments. */
  readonly apply: (v: number, params: readonly number[]) => number;
}

/** scalar(), vector(), time(): evaluated by the engine itself. */
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

/** Prometheus' avg and avg_over_time (v2.42): a running mean, which stays finite where the sum would overflow. */
export function runningMean(values: Iterable<number>): number {
  let mean = 0;
  let count = 0;
  for (const v of values) {
    count++;
    // An infinite mean stays as it is unless a NaN or an infinity of the other sign arrives.
    if ((mean === Infinity || mean === -Infinity) && (v === mean || Number.isFinite(v))) continue;
    mean += v / count - mean / count;
  }
  return mean;
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
  avg_over_time: range((w) => (w.samples.length === 0 ? undefined : runningMean(w.samples.map((s) => s.v)))),
  min_over_time: range(extreme((a, b) => a < b)),
  max_over_time: range(extreme((a, b) => a > b)),
  sum_over_time: range((w) => fold(w, (acc, v) => acc + v)),
  count_over_time: range((w) => (w.samples.length === 0 ? undefined : w.samples.length)),
  last_over_time: range((w) => w.samples[w.samples.length - 1]?.v, true),
  abs: math(Math.abs),
  ceil: math(Math.ceil),
  floor: math(Math.floor),
  sqrt: math(Math.sqrt),
  exp: math(Math.exp),
  ln: math(Math.log),
  log2: math(Math.log2),
  log10: math(Math.log10),
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
  scalar: { kind: "special", args: ["vector"], returns: "scalar" },
  vector: { kind: "special", args: ["scalar"], returns: "vector" },
  time: { kind: "special", args: [], returns: "scalar" },
};

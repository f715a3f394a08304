/**
 * The little PromQL evaluation the benchmark needs on top of `SeriesStore.select` for the embedded store (the
 * real evaluator is src/server/promql, merged separately): a selector at each step (5-minute lookback), an
 * `*_over_time` window at each step, and a per-series rate for topk.
 */
import type { Sample } from "../../src/server/storage/types.ts";

const LOOKBACK_MS = 5 * 60_000;

/** For each step, the newest sample at or before it within the lookback (as a PromQL range query's selector). */
export function atSteps(
  samples: readonly Sample[],
  startMs: number,
  endMs: number,
  stepMs: number,
): Sample[] {
  const out: Sample[] = [];
  let i = 0;
  for (let t = startMs; t <= endMs; t += stepMs) {
    while (i < samples.length && samples[i]!.t <= t) i++;
    const s = samples[i - 1];
    if (s && t - s.t <= LOOKBACK_MS) out.push({ t, v: s.v });
  }
  return out;
}

/** For each step t, fn of the values in (t - windowMs, t]. */
export function overTime(
  samples: readonly Sample[],
  startMs: number,
  endMs: number,
  stepMs: number,
  windowMs: number,
  fn: (values: number[]) => number,
): Sample[] {
  const out: Sample[] = [];
  for (let t = startMs; t <= endMs; t += stepMs) {
    const values = samples.filter((s) => s.t > t - windowMs && s.t <= t).map((s) => s.v);
    if (values.length > 0) out.push({ t, v: fn(values) });
  }
  return out;
}

export const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Increase per second between the first and last sample, counter resets counted (no extrapolation). */
export function simpleRate(samples: readonly Sample[]): number {
  if (samples.length < 2) return Number.NaN;
  let inc = 0;
  for (let i = 1; i < samples.length; i++) {
    const d = samples[i]!.v - samples[i - 1]!.v;
    inc += d >= 0 ? d : samples[i]!.v;
  }
  return inc / ((samples[samples.length - 1]!.t - samples[0]!.t) / 1000);
}

/**
 * Statistics shared by the benchmarks: percentiles, ratios, a seeded bootstrap of a ratio of medians over
 * rounds, and a least-squares slope. Pure functions, no I/O.
 */
import { rng } from "../../src/shared/testing/rng.ts";

/** The p-th percentile (nearest rank) of xs; NaN for an empty list. */
export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const median = (xs: readonly number[]): number => pct(xs, 50);

/** "1.23x", or "—" when the ratio is not a finite number (a zero or missing reference). */
export const ratio = (a: number, b: number): string =>
  Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : "—";

/** A number with 2 decimals (none from 100 up), "—" when not finite. */
export const f2 = (x: number): string =>
  Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2)) : "—";

/** Nanoseconds as "12.3 ms", "4.56 ms" or "789 µs". */
export function nsText(ns: number): string {
  if (ns >= 10e6) return `${(ns / 1e6).toFixed(1)} ms`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e3).toFixed(0)} µs`;
}

// Deterministic PRNG (mulberry32), so a run's bootstrap is reproducible from its samples.
export { rng };

/** Samples grouped by the round each was taken in (`rounds[i]` is the round of `xs[i]`). */
export function byRound(xs: readonly number[], rounds: readonly number[]): Map<number, number[]> {
  const m = new Map<number, number[]>();
  xs.forEach((x, i) => {
    const r = rounds[i]!;
    const group = m.get(r);
    if (group) group.push(x);
    else m.set(r, [x]);
  });
  return m;
}

/** median(a) / median(b) in each round that both ran in. */
export function roundRatios(a: Map<number, number[]>, b: Map<number, number[]>): number[] {
  const out: number[] = [];
  for (const [r, xs] of a) {
    const ys = b.get(r);
    if (ys) out.push(median(xs) / median(ys));
  }
  return out;
}

/**
 * Bootstrap 95% interval of median(a) / median(b), resampling whole rounds (samples of one round share the
 * machine's noise), with a fixed seed.
 */
export function bootstrapRatio(
  a: Map<number, number[]>,
  b: Map<number, number[]>,
  iterations = 2000,
  seed = 0x6b766d6e,
): [number, number] {
  const rounds = [...a.keys()].filter((r) => b.has(r));
  const rand = rng(seed);
  const stats: number[] = [];
  for (let it = 0; it < iterations; it++) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let k = 0; k < rounds.length; k++) {
      const r = rounds[Math.floor(rand() * rounds.length)]!;
      xs.push(...a.get(r)!);
      ys.push(...b.get(r)!);
    }
    stats.push(median(xs) / median(ys));
  }
  return [pct(stats, 2.5), pct(stats, 97.5)];
}

/** Least-squares slope of ys over xs; NaN with fewer than two points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return num / den;
}

/** xs rotated left by `round` places: each element leads once every xs.length rounds. */
export function rotated<T>(xs: readonly T[], round: number): T[] {
  const k = round % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

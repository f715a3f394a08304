/**
 * Downsampled rollups: per series and per bucket (1 minute, 1 hour) the sample count, sum, max, last value and
 * increase (counter resets handled as Prometheus does: a drop means the counter restarted from zero). Buckets of
 * one series are mergeable (a bucket cut in two by a chunk boundary is summed back at read time), and the views
 * below turn them back into samples for the functions that stay correct on them.
 */
import type { Sample } from "../types.ts";
import { ChunkAppender, decodeChunk } from "./chunk.ts";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

export interface Bucket {
  /** Bucket start (ms, a multiple of the width); the bucket covers [start, start + width). */
  readonly start: number;
  count: number;
  sum: number;
  max: number;
  last: number;
  /** Increase of the series over the bucket, counting from the sample before it. */
  inc: number;
}

/**
 * Buckets of ascending samples. `prev` is the sample before the first (for the first increase). NaN values (the
 * stale marker among them) carry no value and are skipped.
 */
export function bucketize(samples: readonly Sample[], prev: Sample | undefined, width: number): Bucket[] {
  const out: Bucket[] = [];
  let before = prev && !Number.isNaN(prev.v) ? prev.v : undefined;
  let b: Bucket | undefined;
  for (const { t, v } of samples) {
    if (Number.isNaN(v)) continue;
    const start = t - (((t % width) + width) % width);
    if (!b || b.start !== start) out.push((b = { start, count: 0, sum: 0, max: -Infinity, last: v, inc: 0 }));
    b.count++;
    b.sum += v;
    if (v > b.max) b.max = v;
    b.last = v;
    if (before !== undefined) b.inc += v >= before ? v - before : v;
    before = v;
  }
  return out;
}

/** Combines bucket lists of one series, each ascending, given oldest first: a later part's `last` wins. */
export function mergeBuckets(lists: readonly (readonly Bucket[])[]): Bucket[] {
  const byStart = new Map<number, Bucket>();
  for (const list of lists) {
    for (const b of list) {
      const seen = byStart.get(b.start);
      if (!seen) {
        byStart.set(b.start, { ...b });
        continue;
      }
      seen.count += b.count;
      seen.sum += b.sum;
      if (b.max > seen.max) seen.max = b.max;
      seen.last = b.last;
      seen.inc += b.inc;
    }
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

/** Re-buckets ascending buckets into wider ones (1 minute -> 1 hour). */
export function coarsen(buckets: readonly Bucket[], width: number): Bucket[] {
  const parts = buckets.map((b) => [{ ...b, start: b.start - (((b.start % width) + width) % width) }]);
  return mergeBuckets(parts);
}

const FIELDS = ["count", "sum", "max", "last", "inc"] as const;

/** One Gorilla stream per field, timestamped by bucket start: [u32 length, bytes] per field. */
export function encodeBuckets(buckets: readonly Bucket[]): Uint8Array {
  const streams = FIELDS.map((f) => {
    const a = new ChunkAppender();
    for (const b of buckets) a.append(b.start, b[f]);
    return a.bytes();
  });
  const out = new Uint8Array(streams.reduce((n, s) => n + 4 + s.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const s of streams) {
    view.setUint32(at, s.length);
    out.set(s, at + 4);
    at += 4 + s.length;
  }
  return out;
}

export function decodeBuckets(bytes: Uint8Array): Bucket[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const columns: Sample[][] = [];
  let at = 0;
  for (let i = 0; i < FIELDS.length; i++) {
    const len = view.getUint32(at);
    columns.push(decodeChunk(bytes.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  const [count, sum, max, last, inc] = columns as [Sample[], Sample[], Sample[], Sample[], Sample[]];
  return count.map((c, i) => ({
    start: c.t,
    count: c.v,
    sum: sum[i]!.v,
    max: max[i]!.v,
    last: last[i]!.v,
    inc: inc[i]!.v,
  }));
}

/**
 * The functions a rollup answers correctly, and the value each bucket contributes. Samples are placed at the
 * bucket's last millisecond, so a query whose step and window are multiples of the bucket width (and aligned to
 * it) sees whole buckets: the plain selector and `last_over_time` get the bucket's last value, `max_over_time`
 * its maximum, `avg_over_time` its mean (exact when buckets hold equally many samples, as regular scrapes give),
 * and `rate`/`increase` a reset-free running total of the increases, whose differences are the counter's true
 * increase between bucket ends. Everything else (`irate`, `delta`, `min_over_time`, ...) is answered from raw.
 */
const VIEWS: Readonly<Record<string, (b: Bucket, runningIncrease: number) => number>> = {
  "": (b) => b.last,
  last_over_time: (b) => b.last,
  max_over_time: (b) => b.max,
  avg_over_time: (b) => b.sum / b.count,
  rate: (_b, running) => running,
  increase: (_b, running) => running,
};

export function rollupAnswers(func: string | undefined): boolean {
  return Object.hasOwn(VIEWS, func ?? "");
}

/** The samples a rollup gives a function (see VIEWS), inside [startMs, endMs]. */
export function bucketSamples(
  buckets: readonly Bucket[],
  width: number,
  func: string | undefined,
  startMs: number,
  endMs: number,
): Sample[] {
  const view = VIEWS[func ?? ""]!;
  const out: Sample[] = [];
  let running = 0;
  for (const b of buckets) {
    running += b.inc;
    const t = b.start + width - 1;
    if (t >= startMs && t <= endMs) out.push({ t, v: view(b, running) });
  }
  return out;
}

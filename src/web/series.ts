/**
 * Series arithmetic for the charts, apart from the DOM so it is tested in Node: rates, ratios (a disk's latency is
 * the rate of its time counter over the rate of its request counter), alignment.
 */
import type { RangeAnswer, SecondCounts } from "../api/types.ts";

export type Points = Array<[number, number]>;

/** One line of a chart: its legend name and its points. */
export interface NamedPoints {
  name: string;
  points: Points;
}

/** Per-second rates between consecutive points; a decrease is a counter reset and gives no point. */
export function rates(points: Points): Points {
  const out: Points = [];
  for (let i = 1; i < points.length; i++) {
    const [t0, v0] = points[i - 1]!;
    const [t1, v1] = points[i]!;
    if (t1 > t0 && v1 >= v0) out.push([t1, (v1 - v0) / (t1 - t0)]);
  }
  return out;
}

/** Every series of an answer as its per-second rates. */
export function rated(a: RangeAnswer): RangeAnswer {
  return { ...a, series: a.series.map((s) => ({ ...s, points: rates(s.points) })) };
}

/** Series on one shared x axis (the union of their times), null where a series has no point. */
export function align(series: Points[]): [number[], ...Array<Array<number | null>>] {
  const xs = [...new Set(series.flatMap((s) => s.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const y: Array<number | null> = new Array<number | null>(xs.length).fill(null);
    for (const [t, v] of s) y[index.get(t)!] = v;
    return y;
  });
  return [xs, ...ys];
}

const labelKey = (l: Record<string, string>) =>
  JSON.stringify(
    Object.entries(l)
      .filter(([k]) => k !== "__name__")
      .sort(),
  );

/** Each series of `num` divided by the series of `den` with the same labels, at the times both have. */
export function divided(num: RangeAnswer, den: RangeAnswer): RangeAnswer["series"] {
  const by = new Map(den.series.map((s) => [labelKey(s.labels), new Map(s.points)]));
  return num.series.map((s) => {
    const d = by.get(labelKey(s.labels));
    return {
      labels: s.labels,
      points: s.points.flatMap(([t, v]): Points => {
        const x = d?.get(t);
        return x ? [[t, v / x]] : [];
      }),
    };
  });
}

/**
 * A trace run's per-second counts as one line per event (events per second), every second from the first to the
 * last (a second without a bucket had no events). `partialLast`: the run is on, so its last second is still
 * counting and left out.
 */
export function perEvent(seconds: readonly SecondCounts[], partialLast: boolean): NamedPoints[] {
  const done = partialLast ? seconds.slice(0, -1) : seconds;
  if (done.length === 0) return [];
  const by = new Map(done.map((s) => [s.second, s.counts]));
  const events = [...new Set(done.flatMap((s) => Object.keys(s.counts)))].sort();
  const first = done[0]!.second;
  const last = done[done.length - 1]!.second;
  return events.map((event) => {
    const points: Points = [];
    for (let t = first; t <= last; t++) points.push([t, by.get(t)?.[event] ?? 0]);
    return { name: event, points };
  });
}

/**
 * The series of several answers summed per value of one label (a domain's disks and directions into one line for
 * its sparkline), at each time any of them has; a series without that label is left out.
 */
export function summedBy(label: string, answers: readonly RangeAnswer[]): Map<string, Points> {
  const sums = new Map<string, Map<number, number>>();
  for (const s of answers.flatMap((a) => a.series)) {
    const key = s.labels[label];
    if (key === undefined) continue;
    let at = sums.get(key);
    if (!at) sums.set(key, (at = new Map()));
    for (const [t, v] of s.points) at.set(t, (at.get(t) ?? 0) + v);
  }
  return new Map([...sums].map(([key, at]) => [key, [...at].sort((a, b) => a[0] - b[0]) as Points]));
}

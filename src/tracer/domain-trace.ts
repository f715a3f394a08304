/**
 * One domain's tracing results: counts per vCPU x event x reason (x target: the port, MMIO address or MSR),
 * a per-second series of each event's count while on, and a bounded ring of the most recent events
 * (recent-ring.ts). Pure data: no I/O, no timers; the tracer feeds it. Counting is split for the tracer's
 * counting path: `row` finds (or creates) a row once, by its names, and the caller keeps it; `count` then adds
 * one event to it and to the second it falls in, with no string built or looked up. Totals are the rows' sums.
 * Everything is bounded: the ring by its size, the series by MAX_SECONDS, the count rows by MAX_ROWS (a guest
 * touching more distinct MMIO addresses than that has the rest counted under target "other").
 */
import type { CountRow, DomainCounts, RecentEvent } from "../model/trace.ts";
import type { Classified } from "./classify.ts";
import { RecentRing } from "./recent-ring.ts";

/** Distinct (vCPU, event, reason, target) rows kept per domain. */
export const MAX_ROWS = 4096;
/** Seconds of per-second series kept per domain. */
export const MAX_SECONDS = 3600;

/** A row as the domain keeps it: with its event's index in the per-second buckets. */
export interface Row extends CountRow {
  readonly eventIndex: number;
}

export class DomainTrace {
  readonly domain: string;
  /** Epoch ms. */
  readonly startedAt: number;
  /** When tracing switches itself off, epoch ms; extended by a joining request. */
  until: number;
  /** Epoch ms when it was switched off; null while on. */
  stoppedAt: number | null = null;
  readonly ring: RecentRing;
  readonly #rows = new Map<string, Row>();
  /** Event names by their index in the buckets. */
  readonly #events: string[] = [];
  /** Per second: counts by event index. */
  readonly #series = new Map<number, number[]>();
  /** The second counted last, and its bucket. */
  #second = Number.NaN;
  #bucket: number[] = [];

  constructor(domain: string, startedAt: number, until: number, ringSize: number) {
    this.domain = domain;
    this.startedAt = startedAt;
    this.until = until;
    this.ring = new RecentRing(ringSize);
  }

  get on(): boolean {
    return this.stoppedAt === null;
  }

  /** Events counted. */
  get total(): number {
    let n = 0;
    for (const r of this.#rows.values()) n += r.count;
    return n;
  }

  /** The row of (vcpu, event, reason, target), created at first use; past MAX_ROWS rows, target "other". */
  row(vcpu: number, event: string, reason: string, target: string): Row {
    const key = `${vcpu}\0${event}\0${reason}\0`;
    const row = this.#rows.get(key + target);
    if (row) return row;
    if (this.#rows.size >= MAX_ROWS)
      return this.#rows.get(`${key}other`) ?? this.#newRow(vcpu, event, reason, "other");
    return this.#newRow(vcpu, event, reason, target);
  }

  /** Counts one event of `row` recorded at `time` (epoch ms). */
  count(row: Row, time: number): void {
    row.count++;
    const second = Math.floor(time / 1000);
    if (second !== this.#second) this.#switchSecond(second);
    this.#bucket[row.eventIndex]!++;
  }

  /** Counts one event recorded at `time` (epoch ms) on `vcpu` and keeps it in the ring. */
  add(time: number, vcpu: number, event: string, c: Classified): void {
    this.count(this.row(vcpu, event, c.reason, c.target), time);
    this.ring.push({ time, vcpu, event, reason: c.reason, details: c.details });
  }

  /** Seconds traced so far (until `now` while on). */
  seconds(now: number): number {
    return Math.max(0, ((this.stoppedAt ?? now) - this.startedAt) / 1000);
  }

  counts(now: number): DomainCounts {
    const seconds = this.seconds(now);
    const events: DomainCounts["events"] = {};
    for (const [event, count] of this.eventTotals())
      events[event] = { count, perSecond: seconds > 0 ? count / seconds : 0 };
    return {
      domain: this.domain,
      seconds,
      total: this.total,
      events,
      rows: [...this.#rows.values()]
        .map(({ vcpu, event, reason, target, count }) => ({ vcpu, event, reason, target, count }))
        .sort((a, b) => b.count - a.count),
      series: [...this.#series]
        .sort(([a], [b]) => a - b)
        .map(([second, counts]) => ({ second, counts: this.#named(counts) })),
    };
  }

  /** Per-event totals, events that were counted only (for the status and /metrics). */
  eventTotals(): ReadonlyMap<string, number> {
    const out = new Map<string, number>();
    for (const r of this.#rows.values()) if (r.count > 0) out.set(r.event, (out.get(r.event) ?? 0) + r.count);
    return out;
  }

  /** The count rows as they are (for /metrics; do not change them). */
  rows(): Iterable<CountRow> {
    return this.#rows.values();
  }

  /** The most recent events after `since` (epoch ms, exclusive), oldest first, at most `limit`. */
  recent(limit: number, since = -Infinity): RecentEvent[] {
    return this.ring.recent(limit, since);
  }

  #newRow(vcpu: number, event: string, reason: string, target: string): Row {
    let eventIndex = this.#events.indexOf(event);
    if (eventIndex < 0) {
      eventIndex = this.#events.push(event) - 1;
      this.#bucket.push(0);
    }
    const row: Row = { vcpu, event, reason, target, count: 0, eventIndex };
    this.#rows.set(`${vcpu}\0${event}\0${reason}\0${target}`, row);
    return row;
  }

  #switchSecond(second: number): void {
    let bucket = this.#series.get(second);
    if (!bucket) {
      bucket = [];
      this.#series.set(second, bucket);
      if (this.#series.size > MAX_SECONDS) this.#series.delete(Math.min(...this.#series.keys()));
    }
    // Events first seen after this bucket was made count from zero in it.
    while (bucket.length < this.#events.length) bucket.push(0);
    this.#second = second;
    this.#bucket = bucket;
  }

  /** A bucket by event name, events with a count only. */
  #named(counts: number[]): Record<string, number> {
    const out: Record<string, number> = {};
    counts.forEach((n, i) => {
      if (n > 0) out[this.#events[i]!] = n;
    });
    return out;
  }
}

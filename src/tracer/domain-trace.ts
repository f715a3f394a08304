/**
 * One domain's tracing results: counts per vCPU x event x reason (x target: the port, MMIO address or MSR),
 * a per-second series of each event's count while on, and a bounded ring of the most recent events (1024 by
 * default, like the original design's shared-memory log). Pure data: no I/O, no timers; the tracer feeds it.
 * Everything is bounded: the ring by its size, the series by MAX_SECONDS, the count rows by MAX_ROWS (a guest
 * touching more distinct MMIO addresses than that has the rest counted under target "other").
 */
import type { Classified } from "./classify.ts";

/** Distinct (vCPU, event, reason, target) rows kept per domain. */
export const MAX_ROWS = 4096;
/** Seconds of per-second series kept per domain. */
export const MAX_SECONDS = 3600;

export interface CountRow {
  vcpu: number;
  event: string;
  reason: string;
  /** Port, MMIO address or MSR (hex); "" for events not counted per target; "other" past MAX_ROWS. */
  target: string;
  count: number;
}

export interface RecentEvent {
  /** When the kernel recorded it, epoch ms (microsecond resolution). */
  time: number;
  vcpu: number;
  event: string;
  reason: string;
  details: Record<string, string | number>;
}

export interface SecondCounts {
  /** Start of the second, epoch seconds. */
  second: number;
  /** Events recorded in that second, by event name. */
  counts: Record<string, number>;
}

export interface DomainCounts {
  domain: string;
  /** While on: now; after: the seconds traced. */
  seconds: number;
  total: number;
  /** Per event: count and rate (count / seconds traced). */
  events: Record<string, { count: number; perSecond: number }>;
  /** Sorted by count, highest first. */
  rows: CountRow[];
  series: SecondCounts[];
}

export class DomainTrace {
  readonly domain: string;
  /** Epoch ms. */
  readonly startedAt: number;
  /** When tracing switches itself off, epoch ms; extended by a joining request. */
  until: number;
  /** Epoch ms when it was switched off; null while on. */
  stoppedAt: number | null = null;
  total = 0;
  readonly #rows = new Map<string, CountRow>();
  readonly #perEvent = new Map<string, number>();
  readonly #series = new Map<number, Record<string, number>>();
  readonly #ring: (RecentEvent | undefined)[];
  #next = 0;

  constructor(domain: string, startedAt: number, until: number, ringSize: number) {
    this.domain = domain;
    this.startedAt = startedAt;
    this.until = until;
    this.#ring = new Array<RecentEvent | undefined>(ringSize);
  }

  get on(): boolean {
    return this.stoppedAt === null;
  }

  /** Counts one event recorded at `time` (epoch ms) on `vcpu`. */
  add(time: number, vcpu: number, event: string, c: Classified): void {
    this.total++;
    this.#perEvent.set(event, (this.#perEvent.get(event) ?? 0) + 1);
    let target = c.target;
    let row = this.#rows.get(`${vcpu}\0${event}\0${c.reason}\0${target}`);
    if (!row && this.#rows.size >= MAX_ROWS) {
      target = "other";
      row = this.#rows.get(`${vcpu}\0${event}\0${c.reason}\0${target}`);
    }
    if (!row) {
      row = { vcpu, event, reason: c.reason, target, count: 0 };
      this.#rows.set(`${vcpu}\0${event}\0${c.reason}\0${target}`, row);
    }
    row.count++;
    const second = Math.floor(time / 1000);
    let bucket = this.#series.get(second);
    if (!bucket) {
      bucket = {};
      this.#series.set(second, bucket);
      if (this.#series.size > MAX_SECONDS) this.#series.delete(Math.min(...this.#series.keys()));
    }
    bucket[event] = (bucket[event] ?? 0) + 1;
    if (this.#ring.length > 0) {
      this.#ring[this.#next] = { time, vcpu, event, reason: c.reason, details: c.details };
      this.#next = (this.#next + 1) % this.#ring.length;
    }
  }

  /** Seconds traced so far (until `now` while on). */
  seconds(now: number): number {
    return Math.max(0, ((this.stoppedAt ?? now) - this.startedAt) / 1000);
  }

  counts(now: number): DomainCounts {
    const seconds = this.seconds(now);
    const events: DomainCounts["events"] = {};
    for (const [event, count] of this.#perEvent)
      events[event] = { count, perSecond: seconds > 0 ? count / seconds : 0 };
    return {
      domain: this.domain,
      seconds,
      total: this.total,
      events,
      rows: [...this.#rows.values()].map((r) => ({ ...r })).sort((a, b) => b.count - a.count),
      series: [...this.#series]
        .sort(([a], [b]) => a - b)
        .map(([second, counts]) => ({ second, counts: { ...counts } })),
    };
  }

  /** Per-event totals (cheap: for /metrics). */
  eventTotals(): ReadonlyMap<string, number> {
    return this.#perEvent;
  }

  /** The count rows as they are (for /metrics; do not change them). */
  rows(): Iterable<CountRow> {
    return this.#rows.values();
  }

  /** The most recent events after `since` (epoch ms, exclusive), oldest first, at most `limit`. */
  recent(limit: number, since = -Infinity): RecentEvent[] {
    const n = this.#ring.length;
    const out: RecentEvent[] = [];
    // Newest first. The ring is in reading order (CPU by CPU), which is time order only per CPU: scan it all.
    for (let i = 1; i <= n && out.length < limit; i++) {
      const e = this.#ring[(this.#next - i + n) % n];
      if (!e) break;
      if (e.time > since) out.push(e);
    }
    return out.sort((a, b) => a.time - b.time);
  }
}

/**
 * Sends one target's spooled batches, oldest first, one request in flight (so each series' samples arrive in
 * time order), as the remote_write spec asks of a sender: 2xx takes the batch off the spool; 5xx, 429, a
 * network error or a timeout is retried with capped exponential backoff and jitter (honouring Retry-After);
 * any other 4xx is never retried: counted, reported, and the batch dropped. While a target is down its batches
 * wait in the spool, and the first success after the outage drains them in order. The agent pushes through it
 * (src/agent/push); a server forwarding to a TSDB can use it the same way (it knows nothing of either).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Spool, SpooledBatch } from "./spool.ts";
import { REMOTE_WRITE_HEADERS } from "./types.ts";

/** What a spooled batch is: where it goes and as what. */
export const BatchKind = { write: 1, snapshot: 2, events: 3 } as const;

/** A kvmon server's path for each kind of batch. */
const KVMON_PATHS: Record<number, string> = {
  [BatchKind.write]: "api/v1/write",
  [BatchKind.snapshot]: "api/v1/push/snapshot",
  [BatchKind.events]: "api/v1/push/events",
};

export type TargetKind = "kvmon" | "remote-write";

export interface SenderTarget {
  /** The `target` label of the push metrics. */
  name: string;
  /** remote-write: the write URL itself; kvmon: the server's base URL. */
  url: string;
  kind: TargetKind;
  /** Sent as `Authorization: Bearer`. */
  token: string | null;
  timeoutMs: number;
}

export interface Backoff {
  minMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { minMs: 500, maxMs: 30_000 };

/** Longest Retry-After honoured; a longer one is capped (the target asked for a pause, not for silence). */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

export type FailureReason = "network" | "timeout" | "http_5xx" | "http_429" | "http_4xx";
export type DropReason = "spool_full" | "spool_error" | "encode_error" | "rejected";

/** One target's counters; the spool's depth is read from the spool itself. */
export class SenderStats {
  sentSamples = 0;
  sentBatches = 0;
  lastSuccessAt: number | null = null;
  readonly failures = new Map<FailureReason, number>();
  readonly dropped = new Map<DropReason, number>();

  fail(reason: FailureReason): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }

  drop(reason: DropReason, n = 1): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }
}

/** What the sender tells its owner, for logs (counting is done in SenderStats). */
export interface SenderEvents {
  /** An attempt failed; the batch is retried after a backoff. */
  failing(reason: FailureReason, detail: string): void;
  /** The target took a batch (after failures or not). */
  succeeded(): void;
  /** The target refused a batch for good (4xx other than 429): it was dropped. */
  rejected(samples: number, detail: string): void;
  /** The spool could not be read; retried after the longest backoff. */
  spoolError(error: unknown): void;
}

export interface SenderOptions {
  target: SenderTarget;
  spool: Spool;
  stats: SenderStats;
  events: SenderEvents;
  backoff?: Backoff;
  clock?: () => number;
  random?: () => number;
}

type Outcome =
  | { ok: true }
  | { ok: false; reason: FailureReason; retry: boolean; retryAfterMs: number | null; detail: string };

/** The URL a batch of this kind goes to on this target. */
export function batchUrl(target: SenderTarget, kind: number): string {
  if (target.kind === "remote-write") return target.url;
  return new URL(KVMON_PATHS[kind]!, target.url.endsWith("/") ? target.url : `${target.url}/`).href;
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(v: string | null, now: number): number | null {
  if (v === null) return null;
  const ms = /^\s*\d+\s*$/.test(v) ? Number(v) * 1000 : Date.parse(v) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS) : null;
}

export class Sender {
  private readonly opts: SenderOptions;
  private readonly backoff: Backoff;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly abort = new AbortController();
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(opts: SenderOptions) {
    this.opts = opts;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.clock = opts.clock ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** A batch was spooled: send it now if the sender is idle. */
  notify(): void {
    this.wake?.();
  }

  /** Stops after the request in flight (aborted); unsent batches stay in the spool for the next start. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      let batch: SpooledBatch | null;
      try {
        batch = this.opts.spool.peek();
      } catch (e) {
        // The spool's disk failed under it (EIO, a segment removed by hand): say so, try again later.
        this.opts.events.spoolError(e);
        await this.pause(this.backoff.maxMs);
        continue;
      }
      if (!batch) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      const outcome = await this.send(batch);
      if (this.abort.signal.aborted) return;
      if (outcome.ok || !outcome.retry) {
        try {
          this.done(batch, outcome);
        } catch (e) {
          // Taking the batch off the spool failed: it is sent again later, a duplicate the target ignores.
          this.opts.events.spoolError(e);
          await this.pause(this.backoff.maxMs);
        }
        failures = 0;
        continue;
      }
      this.opts.stats.fail(outcome.reason);
      this.opts.events.failing(outcome.reason, outcome.detail);
      failures++;
      const exp = Math.min(this.backoff.maxMs, this.backoff.minMs * 2 ** (failures - 1));
      // Jitter over [exp/2, exp): many agents coming back after the same outage do not retry in step.
      await this.pause(Math.max(exp / 2 + (this.random() * exp) / 2, outcome.retryAfterMs ?? 0));
    }
  }

  /** Waits `ms`, or less if the sender is stopped meanwhile. */
  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  private done(batch: SpooledBatch, outcome: Outcome): void {
    const { spool, stats, events } = this.opts;
    spool.ack(batch.id);
    if (outcome.ok) {
      stats.sentBatches++;
      stats.sentSamples += batch.samples;
      stats.lastSuccessAt = this.clock();
      events.succeeded();
      return;
    }
    stats.fail(outcome.reason);
    stats.drop("rejected");
    events.rejected(batch.samples, outcome.detail);
  }

  private async send(batch: SpooledBatch): Promise<Outcome> {
    const { target } = this.opts;
    const headers: Record<string, string> =
      batch.kind === BatchKind.write
        ? { ...REMOTE_WRITE_HEADERS, "User-Agent": "kvmon-agent" }
        : { "Content-Type": "application/json", "User-Agent": "kvmon-agent" };
    if (target.token !== null) headers.Authorization = `Bearer ${target.token}`;
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(target.timeoutMs)]);
    let res: Response;
    let text: string;
    try {
      res = await fetch(batchUrl(target, batch.kind), {
        method: "POST",
        headers,
        body: batch.payload,
        signal,
      });
      // Read so the connection can be reused (bounded by the timeout); kept for the log of a rejection.
      text = await res.text().catch(() => "");
    } catch (e) {
      const timeout = (e as Error).name === "TimeoutError";
      return {
        ok: false,
        reason: timeout ? "timeout" : "network",
        retry: true,
        retryAfterMs: null,
        detail: String((e as Error).cause ?? e),
      };
    }
    if (res.ok) return { ok: true };
    const detail = `HTTP ${res.status} from ${batchUrl(target, batch.kind)}: ${text.slice(0, 300)}`;
    // The spec: retry 5xx; 429 too (it MAY), waiting at least what Retry-After asks.
    if (res.status === 429 || res.status >= 500)
      return {
        ok: false,
        reason: res.status === 429 ? "http_429" : "http_5xx",
        retry: true,
        retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), this.clock()),
        detail,
      };
    return { ok: false, reason: "http_4xx", retry: false, retryAfterMs: null, detail };
  }
}

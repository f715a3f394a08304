/**
 * Runs the async sources (collectors/types.ts DomainSource) beside the bulk collection, never in its way:
 * - each source has its own timer; on each tick every active domain that is idle and not backing off is asked;
 * - at most one call per (source, domain) is in flight: a call that outlives its deadline keeps the slot until it
 *   settles, so a hung guest never collects a pile of calls;
 * - the deadline aborts the call's signal and counts a failure; whatever the call returns later is discarded, as
 *   is a result for a domain that vanished, shut off or restarted (new QEMU id) while it was being fetched;
 * - after k consecutive failures of a domain the next call waits intervalMs * 2^(k-1), at most maxBackoffMs
 *   (a dead guest agent costs one call per back-off period, not one per interval);
 * - results are kept per domain and merged into each snapshot the bulk tick publishes (apply()); a result
 *   older than RESULT_MAX_INTERVALS intervals is no longer merged, so a section goes null rather than stale.
 * With no sources enabled it arms no timer.
 */
import type { DomainSource, DomainTarget } from "../collectors/types.ts";
import type { DomainSample, Snapshot, SourceStatus } from "../model/types.ts";
import { KvmonError, TimeoutError } from "../shared/errors.ts";
import type { ProblemLog } from "./log.ts";

/** A result is merged while younger than this many of its source's intervals. */
export const RESULT_MAX_INTERVALS = 3;

/** Why a call's signal was aborted other than its deadline: the agent stopped, the domain went or restarted. */
export class SourceCallCancelled extends KvmonError {
  override name = "SourceCallCancelled";
  constructor(why: string) {
    super("SOURCE_CALL_CANCELLED", `async source call cancelled: ${why}`);
  }
}

interface Slot {
  target: DomainTarget;
  /** The running call's controller; null when idle. */
  call: AbortController | null;
  consecutiveFailures: number;
  /** No call before this time (epoch ms): the back-off after failures. */
  notBefore: number;
  result: { value: unknown; fetchedAt: number; id: number } | null;
}

class SourceRunner {
  readonly slots = new Map<string, Slot>();
  readonly status: SourceStatus;
  timer: NodeJS.Timeout | null = null;
  readonly source: DomainSource;

  constructor(source: DomainSource) {
    this.source = source;
    this.status = {
      name: source.name,
      calls: 0,
      failures: 0,
      timeouts: 0,
      lateDiscards: 0,
      inFlight: 0,
      backingOff: 0,
      lastSuccessAt: null,
      lastError: null,
    };
  }
}

export interface AsyncSourcesOptions {
  problems: ProblemLog;
  clock?: () => number;
}

export class AsyncSources {
  private readonly runners: SourceRunner[];
  private readonly problems: ProblemLog;
  private readonly clock: () => number;
  private running = false;

  constructor(sources: readonly DomainSource[], opts: AsyncSourcesOptions) {
    this.runners = sources.map((s) => new SourceRunner(s));
    this.problems = opts.problems;
    this.clock = opts.clock ?? Date.now;
  }

  /** Arms one interval timer per source. */
  start(): void {
    this.running = true;
    for (const r of this.runners) {
      r.timer = setInterval(() => this.pollAll(r), r.source.intervalMs);
    }
  }

  /** Clears the timers and aborts every call in flight; their results, if any ever come, are discarded. */
  stop(): void {
    this.running = false;
    for (const r of this.runners) {
      if (r.timer) clearInterval(r.timer);
      r.timer = null;
      for (const slot of r.slots.values()) slot.call?.abort(new SourceCallCancelled("agent stopping"));
    }
  }

  /**
   * The domains sources should ask about: the active ones of the latest snapshot and the socket guests (each
   * source only those it accepts). A new domain is asked at once;
   * one gone (or no longer active) loses its slot and its running call; one whose QEMU id changed starts over.
   */
  setDomains(all: readonly DomainTarget[]): void {
    for (const r of this.runners) {
      const targets = all.filter((t) => r.source.accepts?.(t) ?? true);
      const byUuid = new Map(targets.map((t) => [t.uuid, t]));
      for (const [uuid, slot] of r.slots) {
        const t = byUuid.get(uuid);
        if (t && t.id === slot.target.id) {
          slot.target = t; // a rename keeps the slot
          continue;
        }
        slot.call?.abort(new SourceCallCancelled(t ? "domain restarted" : "domain gone"));
        r.slots.delete(uuid);
        this.problems.forget(problemKey(r, uuid));
      }
      for (const t of targets) {
        if (r.slots.has(t.uuid)) continue;
        const slot: Slot = { target: t, call: null, consecutiveFailures: 0, notBefore: 0, result: null };
        r.slots.set(t.uuid, slot);
        this.poll(r, slot);
      }
    }
  }

  /**
   * The snapshot with every current result merged into its domains' samples and the sources' status added.
   * Synchronous: it reads what has arrived, it never waits for a call.
   */
  apply(snap: Snapshot): Snapshot {
    if (this.runners.length === 0) return snap;
    const now = this.clock();
    const domains = snap.domains.map((d) => this.merged(d, now));
    return { ...snap, domains, sources: this.status() };
  }

  /** Each source's status now (in-flight and back-off counts taken at the call). */
  status(): SourceStatus[] {
    const now = this.clock();
    return this.runners.map((r) => {
      let inFlight = 0;
      let backingOff = 0;
      for (const s of r.slots.values()) {
        if (s.call) inFlight++;
        // After one failure the next call keeps the normal cadence: that is not a back-off yet.
        if (s.consecutiveFailures > 1 && s.notBefore > now) backingOff++;
      }
      return { ...r.status, inFlight, backingOff };
    });
  }

  /**
   * A copy of the sample (the builder keeps the original as the next rates' base) whose source-filled sections
   * are rebuilt from the current results only: a section whose results expired goes back to null.
   */
  private merged(d: DomainSample, now: number): DomainSample {
    const out: DomainSample = { ...d, guest: null, trace: null };
    for (const r of this.runners) {
      const res = r.slots.get(d.uuid)?.result;
      if (!res || res.id !== d.id) continue;
      if (now - res.fetchedAt > RESULT_MAX_INTERVALS * r.source.intervalMs) continue;
      r.source.merge(res.value, res.fetchedAt, out);
    }
    return out;
  }

  private pollAll(r: SourceRunner): void {
    for (const slot of r.slots.values()) this.poll(r, slot);
  }

  private poll(r: SourceRunner, slot: Slot): void {
    const startedAt = this.clock();
    if (!this.running || slot.call !== null || startedAt < slot.notBefore) return;
    const { source, status } = r;
    const target = slot.target;
    const call = new AbortController();
    slot.call = call;
    status.calls++;
    const deadline = setTimeout(() => {
      const e = new TimeoutError(`${source.name} for ${target.name}`, source.timeoutMs);
      call.abort(e);
      status.timeouts++;
      this.failed(r, slot, startedAt, e);
    }, source.timeoutMs);
    const settle = () => {
      clearTimeout(deadline);
      if (slot.call === call) slot.call = null;
    };
    let pending: Promise<unknown>;
    try {
      pending = source.fetch(target, call.signal);
    } catch (e) {
      pending = Promise.reject(e); // a source that throws synchronously fails like one that rejects
    }
    pending.then(
      (value) => {
        settle();
        if (call.signal.aborted) {
          status.lateDiscards++;
          return;
        }
        slot.result = { value, fetchedAt: this.clock(), id: target.id };
        slot.consecutiveFailures = 0;
        slot.notBefore = 0;
        status.lastSuccessAt = slot.result.fetchedAt;
        this.problems.resolve(problemKey(r, target.uuid), "async source works again", fields(r, target));
      },
      (e: unknown) => {
        settle();
        // Aborted: the deadline already counted it, or the call was cancelled on purpose.
        if (!call.signal.aborted) this.failed(r, slot, startedAt, e);
      },
    );
  }

  private failed(r: SourceRunner, slot: Slot, startedAt: number, e: unknown): void {
    const { source, status } = r;
    status.failures++;
    status.lastError = e instanceof Error ? e.message : String(e);
    slot.consecutiveFailures++;
    // Counted from the call's start, so one failure keeps the normal cadence and the wait doubles after that.
    const backoff = source.intervalMs * 2 ** (slot.consecutiveFailures - 1);
    slot.notBefore = startedAt + Math.min(backoff, Math.max(source.maxBackoffMs, source.intervalMs));
    this.problems.problem(problemKey(r, slot.target.uuid), "async source failed", e, fields(r, slot.target));
  }
}

/** Under the domain's uuid, so the problem is forgotten with the domain (snapshot-builder forgets `domain:<uuid>:`). */
function problemKey(r: SourceRunner, uuid: string): string {
  return `domain:${uuid}:source:${r.source.name}`;
}

function fields(r: SourceRunner, t: DomainTarget): Record<string, string> {
  return { source: r.source.name, domain: t.name, uuid: t.uuid };
}

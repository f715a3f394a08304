/**
 * The agent's scheduler: once per interval, ONE bulk stats call for all domains (with NOWAIT, so a domain whose
 * job lock is held comes back partial instead of stalling everyone), then every enabled collector runs over the
 * records (timed, isolated), and the result is published as an immutable Snapshot that /metrics and the JSON
 * API serve as is, so scrapes never touch libvirt.
 *
 * At most one collection is in flight; an interval whose predecessor is still running is skipped and counted.
 * What goes into a snapshot (freshness, rates, vanished domains) is snapshot-builder.ts's job.
 */
import { performance } from "node:perf_hooks";
import { statsGroupsFor } from "../collectors/registry.ts";
import type {
  Collector,
  DomainCollector,
  DomainSource,
  DomainTarget,
  HostCollector,
} from "../collectors/types.ts";
import type { AgentIdentity, Snapshot } from "../model/types.ts";
import { ErrorCode, LibvirtError } from "../protocol/libvirt/index.ts";
import {
  DomainStatsFlag,
  DomainStatsGroup,
  type DomainStatsRecord,
  type LifecycleEvent,
} from "../protocol/libvirt/types.ts";
import { TimeoutError } from "../shared/errors.ts";
import { AsyncSources } from "./async-sources.ts";
import { readIdentity } from "./identity.ts";
import type { Logger, ProblemLog } from "./log.ts";
import { MetadataCache } from "./metadata-cache.ts";
import type { ProcessStartTimes } from "./process-start.ts";
import { SnapshotBuilder } from "./snapshot-builder.ts";
import { libvirtDomains, withSocketGuests } from "./socket-guests.ts";
import type { ConnectionStatus, HostSource } from "./source.ts";

export interface AgentOptions {
  source: HostSource;
  collectors: readonly Collector[];
  intervalMs: number;
  /** Deadline of the bulk stats call (and of every other libvirt call the agent makes). */
  timeoutMs: number;
  logger: Logger;
  problems: ProblemLog;
  processStarts?: ProcessStartTimes;
  /**
   * Guests outside libvirt (config guest.sockets): added to every snapshot as domains of their own
   * (socket-guests.ts) and asked by the async sources that accept them, whatever libvirt lists.
   */
  socketGuests?: readonly DomainTarget[];
  /** Who this agent is on its snapshots; read from the host (identity.ts) when not given. */
  identity?: AgentIdentity;
  clock?: () => number;
}

/** Health and bookkeeping beyond the snapshot, for /healthz and the kvmon_agent_* metrics. */
export interface AgentStatus {
  collections: number;
  failedCollections: number;
  consecutiveFailures: number;
  skippedIntervals: number;
  lastAttemptAt: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastStatsCallSeconds: number | null;
  /** How late the scheduler's timer fired for the last collection: an event-loop stall shows here. */
  lastDelaySeconds: number | null;
}

export class Agent {
  readonly opts: AgentOptions;
  readonly metadata: MetadataCache;
  readonly status: AgentStatus = {
    collections: 0,
    failedCollections: 0,
    consecutiveFailures: 0,
    skippedIntervals: 0,
    lastAttemptAt: null,
    lastSuccessAt: null,
    lastError: null,
    lastStatsCallSeconds: null,
    lastDelaySeconds: null,
  };
  private current: Snapshot | null = null;
  private readonly builder: SnapshotBuilder;
  private readonly sources: AsyncSources;
  private generation = -1;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** A new connection came up during a collection: collect again as soon as it ends. */
  private collectAgain = false;
  private events: AsyncIterator<unknown> | null = null;
  private readonly statsGroups: number;
  private nowait = true;
  private readonly clock: () => number;
  private readonly listeners: ((snap: Snapshot) => void)[] = [];
  private readonly eventListeners: ((e: LifecycleEvent) => void)[] = [];

  constructor(opts: AgentOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? Date.now;
    // BALLOON is always requested: a running domain without balloon.rss is how a NOWAIT skip shows (partial.ts).
    this.statsGroups = statsGroupsFor(opts.collectors) | DomainStatsGroup.BALLOON;
    this.metadata = new MetadataCache(opts.source, opts.problems, {
      timeoutMs: opts.timeoutMs,
      clock: this.clock,
    });
    this.builder = new SnapshotBuilder({
      domainCollectors: opts.collectors.filter((c): c is DomainCollector => c.kind === "domain"),
      hostCollectors: opts.collectors.filter((c): c is HostCollector => c.kind === "host"),
      statsGroups: this.statsGroups,
      metadata: this.metadata,
      processStarts: opts.processStarts,
      problems: opts.problems,
      queries: opts.source,
      identity: opts.identity ?? readIdentity(),
      clock: this.clock,
    });
    this.sources = new AsyncSources(
      opts.collectors.filter((c): c is DomainSource => c.kind === "source"),
      { problems: opts.problems, clock: this.clock },
    );
  }

  get collectors(): readonly Collector[] {
    return this.opts.collectors;
  }

  get intervalMs(): number {
    return this.opts.intervalMs;
  }

  connection(): ConnectionStatus {
    return this.opts.source.connection();
  }

  /** The last published snapshot (null before the first collection succeeds). */
  snapshot(): Snapshot | null {
    return this.current;
  }

  /** Calls `listener` with each snapshot of a successful collection (not the stale ones of a failed call). */
  onSnapshot(listener: (snap: Snapshot) => void): void {
    this.listeners.push(listener);
  }

  /** Calls `listener` with each domain lifecycle event from libvirt. */
  onLifecycleEvent(listener: (e: LifecycleEvent) => void): void {
    this.eventListeners.push(listener);
  }

  /** Starts the connection, the event consumer and the interval timer. */
  start(): void {
    this.running = true;
    this.opts.source.start();
    this.sources.start();
    void this.consumeEvents();
    // A NEW connection (the first, or a reconnect after a libvirtd restart) is collected from at once rather
    // than at the next interval, so samples resume within seconds of the daemon coming back (host info and
    // metadata are re-read then too, see collect()). A failure on a connection that stays up (a libvirt error,
    // a timeout) waits for the next interval as usual: a failing call is not retried in a loop.
    this.opts.source.onConnected?.(() => {
      if (!this.running) return;
      if (this.inFlight) this.collectAgain = true;
      else this.schedule(0);
    });
    // First collection as soon as the connection is up (or after one interval, to report why not).
    this.schedule(this.opts.source.connection().connected ? 0 : this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.sources.stop();
    await this.events?.return?.();
    await this.inFlight?.catch(() => undefined);
    await this.opts.source.close();
  }

  /** The one pending timer: the next collection in `delayMs`, replacing any other already scheduled. */
  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    const due = performance.now() + delayMs;
    this.timer = setTimeout(() => {
      this.status.lastDelaySeconds = Math.max(0, performance.now() - due) / 1000;
      void this.tick().finally(() => {
        if (!this.running) return;
        const again = this.collectAgain;
        this.collectAgain = false;
        this.schedule(again ? 0 : this.delayToNextTick());
      });
    }, delayMs);
  }

  /** Ticks stay aligned to the interval grid even when a collection takes a while. */
  private delayToNextTick(): number {
    const i = this.opts.intervalMs;
    return i - (this.clock() % i);
  }

  private async consumeEvents(): Promise<void> {
    const it = this.opts.source.lifecycleEvents()[Symbol.asyncIterator]();
    this.events = it;
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        this.metadata.onEvent(r.value);
        for (const listener of this.eventListeners) listener(r.value);
      }
    } catch (e) {
      this.opts.problems.problem(
        "events",
        "lifecycle event stream ended; metadata refreshes on new domains only",
        e,
      );
    }
  }

  /** One collection. Public for tests; the timer calls it. Never throws. */
  tick(): Promise<void> {
    if (this.inFlight) {
      this.status.skippedIntervals++;
      this.opts.problems.problem("overrun", "previous collection still running; interval skipped", "overrun");
      return this.inFlight;
    }
    this.inFlight = this.collect()
      .catch((e: unknown) => {
        // A bug, not a libvirt problem (those are handled inside): keep serving the last snapshot, say so once.
        this.status.lastError = (e as Error).message;
        this.opts.problems.problem("collect", "collection failed unexpectedly", e, {}, "error");
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  private async collect(): Promise<void> {
    const { source, problems } = this.opts;
    const startedAt = this.clock();
    this.status.lastAttemptAt = startedAt;
    this.status.collections++;
    const conn = source.connection();
    if (conn.generation !== this.generation) {
      // New connection: host info and metadata may be stale, events may have been missed.
      this.generation = conn.generation;
      this.builder.connectionChanged();
      this.metadata.invalidateAll();
    }
    let records: DomainStatsRecord[];
    try {
      records = await this.bulkStats();
    } catch (e) {
      this.status.failedCollections++;
      this.status.consecutiveFailures++;
      this.status.lastError = (e as Error).message;
      // Before the first connection this is start-up, not an incident.
      const level = conn.generation === 0 ? "info" : "error";
      problems.problem(
        "stats",
        "bulk stats call failed; serving the last snapshot marked stale",
        e,
        {},
        level,
      );
      this.current = this.builder.stale(this.current, startedAt);
      return;
    }
    problems.resolve("stats", "bulk stats call works again");
    problems.resolve("stats-timeout", "bulk stats call answers in time again");
    problems.resolve("overrun", "collections keep up with the interval again");
    this.status.consecutiveFailures = 0;
    this.status.lastError = null;
    // Only a domain of the last snapshot that is absent from the reply needs the listing (still there but not
    // answering, or gone?): usually none is, and the round trip is saved.
    const listed = this.absentFromReply(records) ? await this.listUuids() : null;
    const built = await this.builder.build(libvirtDomains(this.current), records, listed, startedAt);
    const sockets = this.opts.socketGuests ?? [];
    // Async sources' current results go in as they are: the bulk tick never waits for a source.
    this.current = this.sources.apply(withSocketGuests(built, sockets));
    this.sources.setDomains([
      ...this.current.domains
        .filter((d) => d.state?.active)
        .map(({ name, uuid, id }) => ({ name, uuid, id })),
      ...sockets,
    ]);
    problems.resolve("collect", "collections work again");
    // Hot-plugged devices send no lifecycle event: a device the metadata does not know means its XML changed.
    for (const d of this.current.domains) if (d.stats.status === "ok") this.metadata.checkDevices(d);
    void this.metadata.refresh(records.map((r) => r.domain));
    this.status.lastSuccessAt = this.clock();
    for (const listener of this.listeners) listener(this.current);
  }

  /**
   * The bulk call. On timeout it is retried once at once: our hung call still holds the stuck domain's job, so
   * the retry's NOWAIT skips exactly that domain. A libvirt older than 4.5 rejects NOWAIT as an unsupported
   * flag: the agent then drops the flag for good and says so once (feature detection, not a config knob).
   */
  private async bulkStats(): Promise<DomainStatsRecord[]> {
    // The source enforces the deadline (HostSource contract): one deadline, no second timer here.
    const call = () =>
      this.opts.source.getAllDomainStats({
        stats: this.statsGroups,
        flags: this.nowait ? DomainStatsFlag.NOWAIT : 0,
        timeoutMs: this.opts.timeoutMs,
      });
    const t0 = performance.now();
    try {
      return await call();
    } catch (e) {
      if (this.nowait && isUnsupportedFlags(e)) {
        this.nowait = false;
        this.opts.logger.warn("libvirt rejects the NOWAIT flag (libvirt < 4.5); collecting without it", {
          error: (e as Error).message,
        });
        return await call();
      }
      if (!(e instanceof TimeoutError)) throw e;
      this.opts.problems.problem("stats-timeout", "bulk stats call timed out; retrying once", e);
      return await call();
    } finally {
      this.status.lastStatsCallSeconds = (performance.now() - t0) / 1000;
    }
  }

  private absentFromReply(records: readonly DomainStatsRecord[]): boolean {
    const prev = libvirtDomains(this.current)?.domains;
    if (!prev || prev.length === 0) return false;
    const present = new Set(records.map((r) => r.domain.uuid));
    return prev.some((d) => !present.has(d.uuid));
  }

  /** UUIDs of every existing domain, to tell "missing from the reply" from "gone"; null if listing failed. */
  private async listUuids(): Promise<Set<string> | null> {
    try {
      const list = await this.opts.source.listAllDomains(this.opts.timeoutMs);
      this.opts.problems.resolve("list", "listing domains works again");
      return new Set(list.map((d) => d.uuid));
    } catch (e) {
      this.opts.problems.problem("list", "listing domains failed; domains missing from stats are dropped", e);
      return null;
    }
  }
}

/** libvirt's virCheckFlags error: VIR_ERR_INVALID_ARG "unsupported flags (0x...) in function ...". */
function isUnsupportedFlags(e: unknown): boolean {
  return (
    e instanceof LibvirtError &&
    e.libvirtCode === ErrorCode.INVALID_ARG &&
    /unsupported flags/.test(e.message)
  );
}

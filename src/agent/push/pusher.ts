/**
 * The agent's push path: after each collection, every target whose interval is due gets the snapshot as one
 * remote_write batch (the /metrics series plus the agent's own, with `host` and `instance` labels) and, for a
 * kvmon server, the snapshot JSON and the lifecycle events since its last push too. Batches go to the target's
 * spool first (fsync'd), then its sender takes them in order; a slow or absent target never delays collection
 * or the other targets.
 */
import type { Collector } from "../../collectors/types.ts";
import type { Emit } from "../../metrics/catalog.ts";
import type { Snapshot } from "../../model/types.ts";
import type { LifecycleEvent } from "../../protocol/libvirt/types.ts";
import { encodeWrite } from "../../protocol/remote-write/index.ts";
import type { Agent } from "undici";
import { readTlsClient, tlsDispatcher } from "../../shared/tls.ts";
import { readSecretFile } from "../control/token.ts";
import { ConfigError } from "../errors.ts";
import type { Logger, ProblemLog } from "../log.ts";
import { type PushedEvent, pushedEvent } from "./events.ts";
import {
  type Backoff,
  BatchKind,
  Sender,
  type SenderEvents,
  SenderStats,
  type TargetKind,
} from "../../protocol/remote-write/sender.ts";
import { Spool, type SpoolBatch } from "../../protocol/remote-write/spool.ts";
import { exposePushStats } from "./metrics.ts";
import { identityLabels, SeriesCollector, snapshotSeries } from "./series.ts";

/** One push target as the agent config gives it (src/agent/config.ts). */
export interface PushTargetConfig {
  name: string;
  url: string;
  kind: TargetKind;
  tokenFile: string | null;
  /** Trusted besides the system's CAs (a server with its own CA). */
  caFile: string | null;
  /** Client certificate and key, for a server that requires one (its tlsClientCa). */
  certFile: string | null;
  keyFile: string | null;
  intervalSeconds: number;
  timeoutSeconds: number;
  spoolDir: string;
  spoolMaxBytes: number;
}

export interface PusherOptions {
  targets: readonly PushTargetConfig[];
  collectors: readonly Collector[];
  /** The agent-level series of /metrics (status, connection, process, tracer, push), emitted at push time. */
  agentLines: (snap: Snapshot, emit: Emit) => void;
  /** The agent's HTTP port, for the `instance` label. */
  port: number;
  logger: Logger;
  problems: ProblemLog;
  backoff?: Backoff;
  clock?: () => number;
}

interface Target {
  readonly config: PushTargetConfig;
  readonly spool: Spool;
  readonly stats: SenderStats;
  readonly sender: Sender;
  /** The TLS connection pool when the target has a CA or client certificate; closed on stop. */
  readonly dispatcher: Agent | null;
  /** Interval slot (startedAt / interval) of the last pushed snapshot. */
  lastSlot: number | null;
  /** Lifecycle events since the last push (kvmon targets only), at most MAX_PENDING_EVENTS. */
  events: PushedEvent[];
}

/** How early (wall clock) a collection may start and still count in the next push slot; at most 1/10 of it. */
const EARLY_TOLERANCE_MS = 100;

/** Events kept per target between pushes (the server takes at most this many per request). */
export const MAX_PENDING_EVENTS = 10_000;

/** The sender's reports as log lines: an outage once when it starts and once when it ends, each rejection. */
function senderEvents(target: string, logger: Logger, problems: ProblemLog): SenderEvents {
  return {
    failing: (reason, detail) =>
      problems.problem(`push:${target}`, "push failing; batches wait in the spool", detail, {
        target,
        reason,
      }),
    succeeded: () => problems.resolve(`push:${target}`, "push works again", { target }),
    rejected: (samples, detail) =>
      logger.warn("push target rejected a batch (4xx): dropped, not retried", { target, samples, detail }),
    spoolError: (e) => problems.problem(`push-spool:${target}`, "cannot read the push spool", e, { target }),
  };
}

/** The target's spool; a directory that cannot be made or read stops the agent at start, naming the key. */
function openSpool(config: PushTargetConfig, logger: Logger): Spool {
  try {
    return new Spool({
      dir: config.spoolDir,
      maxBytes: config.spoolMaxBytes,
      onProblem: (message, fields) => logger.warn(message, { target: config.name, ...fields }),
    });
  } catch (e) {
    throw new ConfigError(
      "push.spoolDir",
      config.spoolDir,
      `cannot open the spool: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

export class Pusher {
  private readonly opts: PusherOptions;
  private readonly targets: Target[];
  private readonly clock: () => number;

  constructor(opts: PusherOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? Date.now;
    this.targets = opts.targets.map((config) => {
      const token = config.tokenFile === null ? null : readSecretFile(config.tokenFile, "push.tokenFile");
      const tls = readTlsClient(
        config,
        { caFile: "push.caFile", certFile: "push.certFile", keyFile: "push.keyFile" },
        (key, path, message, cause) => new ConfigError(key, path, message, { cause }),
      );
      const dispatcher = tls ? tlsDispatcher(tls) : null;
      const stats = new SenderStats();
      const spool = openSpool(config, opts.logger);
      const sender = new Sender({
        target: {
          name: config.name,
          url: config.url,
          kind: config.kind,
          token,
          timeoutMs: config.timeoutSeconds * 1000,
          ...(dispatcher ? { dispatcher } : {}),
        },
        spool,
        stats,
        events: senderEvents(config.name, opts.logger, opts.problems),
        backoff: opts.backoff,
        clock: this.clock,
      });
      if (spool.batches > 0)
        opts.logger.info("push: replaying spooled batches", { target: config.name, batches: spool.batches });
      return { config, spool, stats, sender, dispatcher, lastSlot: null, events: [] };
    });
  }

  start(): void {
    for (const t of this.targets) t.sender.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.sender.stop()));
    await Promise.all(this.targets.map((t) => t.dispatcher?.close()));
    for (const t of this.targets) t.spool.close();
  }

  /** Queues the snapshot for every target whose interval is due; called after each successful collection. */
  push(snap: Snapshot): void {
    const due = this.targets.filter((t) => t.lastSlot !== this.slot(snap, t));
    if (due.length === 0) return;
    let write: SpoolBatch;
    try {
      write = this.batch(snap);
    } catch (e) {
      // A bug, not a target's problem: collection goes on, the push metrics show the gap.
      for (const t of due) t.stats.drop("encode_error");
      this.opts.problems.problem("push-encode", "cannot turn the snapshot into a push batch", e, {}, "error");
      return;
    }
    const json = due.some((t) => t.config.kind === "kvmon") ? Buffer.from(JSON.stringify(snap)) : null;
    for (const t of due) {
      t.lastSlot = this.slot(snap, t);
      this.enqueue(t, write);
      if (json && t.config.kind === "kvmon")
        this.enqueue(t, { kind: BatchKind.snapshot, samples: 0, payload: json });
      if (t.events.length > 0) {
        this.enqueue(t, {
          kind: BatchKind.events,
          samples: 0,
          payload: Buffer.from(JSON.stringify(t.events)),
        });
        t.events = [];
      }
      t.sender.notify();
    }
  }

  /** Keeps a lifecycle event for the kvmon targets' next push (the oldest go past MAX_PENDING_EVENTS). */
  event(e: LifecycleEvent): void {
    const pushed = pushedEvent(e, this.clock());
    for (const t of this.targets) {
      if (t.config.kind !== "kvmon") continue;
      if (t.events.length >= MAX_PENDING_EVENTS) t.events.shift();
      t.events.push(pushed);
    }
  }

  /**
   * The target's interval slot the snapshot falls in: one push per slot. A collection timer can fire a little
   * before its grid point by the wall clock (Node's timers run on a monotonic clock: about 1 in 70 fires 1 ms
   * early here), which would put the collection in the previous slot and skip its push: a start up to
   * EARLY_TOLERANCE_MS before a slot's start counts in that slot. (Found by the 2-minute outage test, which counts
   * one sample per series per collection: 119 of 120.)
   */
  private slot(snap: Snapshot, t: Target): number {
    const ms = t.config.intervalSeconds * 1000;
    return Math.floor((snap.startedAt + Math.min(EARLY_TOLERANCE_MS, ms / 10)) / ms);
  }

  /** The snapshot's series plus the agent's own lines, as one remote_write body. */
  private batch(snap: Snapshot): SpoolBatch {
    const identity = identityLabels(snap, this.opts.port);
    const series = snapshotSeries(snap, this.opts.collectors, identity);
    const own = new SeriesCollector(identity, this.clock());
    this.opts.agentLines(snap, own.emitter([], []));
    series.push(...own.series);
    return { kind: BatchKind.write, samples: series.length, payload: encodeWrite(series) };
  }

  private enqueue(t: Target, batch: SpoolBatch): void {
    try {
      const dropped = t.spool.append(batch);
      if (dropped > 0) t.stats.drop("spool_full", dropped);
      this.opts.problems.resolve(`push-spool:${t.config.name}`, "push spool writable again");
    } catch (e) {
      // Nothing is sent that is not spooled first: a batch the spool cannot take is lost, and said so.
      t.stats.drop("spool_error");
      this.opts.problems.problem(
        `push-spool:${t.config.name}`,
        "cannot write the push spool; batch dropped",
        e,
        {
          target: t.config.name,
          dir: t.config.spoolDir,
        },
      );
    }
  }

  /** The push metrics of every target. */
  expose(emit: Emit): void {
    for (const t of this.targets) exposePushStats(t.config.name, t.stats, t.spool, emit);
  }
}

/**
 * Scale-out (a): the server forwards what it ingests to Prometheus-compatible TSDBs (VictoriaMetrics, Mimir, a
 * Prometheus receiver) with the agent's retry and spool (src/protocol/remote-write): every accepted batch is
 * appended, fsync'd, to each target's spool before the ingest request is answered, then sent in order by that
 * target's sender. A target that is down holds batches in its spool (bounded, oldest dropped and counted); it
 * never fails or slows the ingest itself. A spool that cannot be written (disk full, EACCES) does fail it: the
 * batch would not be durable, so the request is refused with a 5xx and the agent sends it again.
 */
import { encodeWrite, type TimeSeries } from "../../protocol/remote-write/index.ts";
import { KvmonError } from "../../shared/errors.ts";
import { BatchKind, Sender, type SenderEvents, SenderStats } from "../../protocol/remote-write/sender.ts";
import { Spool } from "../../protocol/remote-write/spool.ts";

export interface ForwardTarget {
  /** Names the target in logs and metrics. */
  name: string;
  /** The target's remote_write URL. */
  url: string;
  /** Sent as `Authorization: Bearer`. */
  token: string | null;
  timeoutMs: number;
  spoolDir: string;
  spoolMaxBytes: number;
}

/** A target's spool could not take a batch: the ingest request must fail so that its sender retries. */
export class ForwardSpoolError extends KvmonError {
  override name = "ForwardSpoolError";
  readonly targets: readonly string[];
  constructor(targets: readonly string[], cause: unknown) {
    super(
      "FORWARD_SPOOL_FAILED",
      `cannot write the forward spool of ${targets.join(", ")}: ${(cause as Error).message}`,
      { hint: "free space or fix the permissions of the spool directory in the data dir", cause },
    );
    this.targets = targets;
  }
}

export type ForwardLog = (level: "info" | "warn", message: string, fields: Record<string, unknown>) => void;

interface Target {
  readonly config: ForwardTarget;
  readonly spool: Spool;
  readonly stats: SenderStats;
  readonly sender: Sender;
}

/** The sender's reports as log lines; an outage is logged when it starts and when it ends, not per retry. */
function logEvents(target: string, log: ForwardLog): SenderEvents {
  let failing = false;
  return {
    failing: (reason, detail) => {
      if (!failing) log("warn", "forwarding failing; batches wait in the spool", { target, reason, detail });
      failing = true;
    },
    succeeded: () => {
      if (failing) log("info", "forwarding works again", { target });
      failing = false;
    },
    rejected: (samples, detail) =>
      log("warn", "forward target rejected a batch (4xx): dropped", { target, samples, detail }),
    spoolError: (e) => log("warn", "cannot read the forward spool", { target, error: String(e) }),
  };
}

export class Forwarder {
  private readonly targets: Target[];
  private readonly log: ForwardLog;

  constructor(targets: readonly ForwardTarget[], log: ForwardLog) {
    this.log = log;
    this.targets = targets.map((config) => {
      const spool = new Spool({
        dir: config.spoolDir,
        maxBytes: config.spoolMaxBytes,
        onProblem: (message, fields) => log("warn", message, { target: config.name, ...fields }),
      });
      const stats = new SenderStats();
      const sender = new Sender({
        target: {
          name: config.name,
          url: config.url,
          kind: "remote-write",
          token: config.token,
          timeoutMs: config.timeoutMs,
        },
        spool,
        stats,
        events: logEvents(config.name, log),
      });
      return { config, spool, stats, sender };
    });
  }

  start(): void {
    for (const t of this.targets) t.sender.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.sender.stop()));
    for (const t of this.targets) t.spool.close();
  }

  /**
   * Spools the series for every target (durable when this returns) and wakes their senders. Throws
   * ForwardSpoolError when a target's spool cannot be written, after trying every target: the caller fails the
   * request, and the resent batch is a duplicate for the targets that took it, which they ignore.
   */
  forward(series: readonly TimeSeries[]): void {
    if (this.targets.length === 0 || series.length === 0) return;
    let samples = 0;
    for (const ts of series) samples += ts.samples.length;
    const payload = encodeWrite(series);
    const failed: string[] = [];
    let firstError: unknown;
    for (const t of this.targets) {
      try {
        const dropped = t.spool.append({ kind: BatchKind.write, samples, payload });
        if (dropped > 0) t.stats.drop("spool_full", dropped);
      } catch (e) {
        failed.push(t.config.name);
        firstError ??= e;
        this.log("warn", "cannot write the forward spool; ingest refused, the sender retries", {
          target: t.config.name,
          error: String(e),
        });
      }
      t.sender.notify();
    }
    if (failed.length > 0) throw new ForwardSpoolError(failed, firstError);
  }

  /** Per target: its sender's counters and its spool's depth, for the server's metrics. */
  status(): { name: string; stats: SenderStats; spoolBytes: number; spoolBatches: number }[] {
    return this.targets.map((t) => ({
      name: t.config.name,
      stats: t.stats,
      spoolBytes: t.spool.bytes,
      spoolBatches: t.spool.batches,
    }));
  }
}

/**
 * The view collected in-process when no agent runs: the agent's own scheduler (`Agent.tick`: one bulk stats
 * call, the registered collectors, the snapshot builder) on a read-only libvirt connection, so the numbers are
 * computed by exactly the code the agent runs. Rates need two samples: the first snapshot makes two bulk calls
 * one refresh interval apart; each later one makes one, its rates over the time since the previous call.
 * No guest view here (it needs a read-write connection and the agent's async sources): run `kvmon agent
 * --guest true` for the in-guest columns.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Agent } from "../../agent/agent.ts";
import { LibvirtSource } from "../../agent/libvirt-source.ts";
import { Logger, ProblemLog } from "../../agent/log.ts";
import { defaultCollectorNames, selectCollectors } from "../../collectors/registry.ts";
import { CliError } from "../errors.ts";
import type { ViewSnapshot, ViewSource } from "./types.ts";

export interface LocalSourceOptions {
  uri: string;
  /** Time between the first two bulk calls (the refresh interval). */
  intervalMs: number;
  /** Deadline of each libvirt call, and of opening the connection. */
  timeoutMs?: number;
}

export class LocalViewSource implements ViewSource {
  readonly kind = "local" as const;
  readonly origin: string;
  private readonly opts: LocalSourceOptions;
  private readonly source: LibvirtSource;
  private readonly agent: Agent;
  private primed = false;

  private constructor(opts: LocalSourceOptions, source: LibvirtSource, agent: Agent) {
    this.opts = opts;
    this.origin = opts.uri;
    this.source = source;
    this.agent = agent;
  }

  /** Connects to libvirt, or throws a LIBVIRT_UNREACHABLE CliError with the connection's last error. */
  static async open(opts: LocalSourceOptions): Promise<LocalViewSource> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const source = new LibvirtSource({
      uri: opts.uri,
      readOnly: true,
      callTimeoutMs: timeoutMs,
      connectTimeoutMs: timeoutMs,
    });
    // Problems go nowhere: a refresh that fails throws, and the caller shows why.
    const logger = new Logger(() => {}, "error");
    const agent = new Agent({
      source,
      collectors: selectCollectors(defaultCollectorNames()),
      intervalMs: opts.intervalMs,
      timeoutMs,
      logger,
      problems: new ProblemLog(logger),
    });
    source.start();
    const deadline = Date.now() + timeoutMs;
    while (!source.connection().connected) {
      const { lastError } = source.connection();
      if (lastError !== null || Date.now() > deadline) {
        await source.close();
        throw new CliError(`cannot reach libvirt at ${opts.uri}: ${lastError ?? "connection timed out"}`, {
          code: "LIBVIRT_UNREACHABLE",
        });
      }
      await sleep(50);
    }
    return new LocalViewSource(opts, source, agent);
  }

  async snapshot(): Promise<ViewSnapshot> {
    if (!this.primed) {
      await this.agent.tick();
      await sleep(this.opts.intervalMs);
      this.primed = true;
    }
    await this.agent.tick();
    const snap = this.agent.snapshot();
    if (!snap || this.agent.status.consecutiveFailures > 0) {
      throw new CliError(
        `collection from ${this.origin} failed: ${this.agent.status.lastError ?? "no sample"}`,
        {
          code: "COLLECTION_FAILED",
        },
      );
    }
    return {
      source: this.kind,
      origin: this.origin,
      collectedAt: snap.finishedAt,
      host: snap.host,
      hosts: null,
      domains: snap.domains,
    };
  }

  close(): Promise<void> {
    return this.agent.stop();
  }
}

/**
 * The thin adapter from the agent's HostSource to the project's libvirt client: one persistent connection
 * (read-only by default) that reconnects with backoff. The bulk stats call has exactly one deadline, the
 * client's per-call one (a late reply is dropped at the dispatcher, not left pending). The other calls get the
 * client's default deadline (callTimeoutMs) and withTimeout here, whose `timeoutMs` the caller chooses.
 */
import { ReconnectingLibvirtConnection, type ReconnectOptions } from "../protocol/libvirt/index.ts";
import type { DomainRef, DomainStatsRecord, LifecycleEvent, NodeInfo } from "../protocol/libvirt/types.ts";
import { withTimeout } from "../shared/errors.ts";
import type { ConnectionStatus, HostSource, StatsRequest } from "./source.ts";

/** Upper bound of the reconnect backoff. */
export const MAX_RECONNECT_DELAY_MS = 5000;

export interface LibvirtSourceOptions {
  uri: string;
  readOnly: boolean;
  /** Deadline for calls other than the bulk stats call (which carries its own). */
  callTimeoutMs: number;
  /** Deadline for opening the connection. */
  connectTimeoutMs: number;
  /** Reconnect tuning and an injectable connect (tests use the project's mock libvirtd). */
  reconnect?: Pick<ReconnectOptions, "initialDelayMs" | "maxDelayMs" | "jitter" | "connect">;
}

export class LibvirtSource implements HostSource {
  private readonly conn: ReconnectingLibvirtConnection;
  private readonly timeoutMs: number;
  private status: ConnectionStatus = {
    connected: false,
    state: "idle",
    generation: 0,
    since: Date.now(),
    lastError: null,
  };

  constructor(opts: LibvirtSourceOptions) {
    this.timeoutMs = opts.callTimeoutMs;
    this.conn = new ReconnectingLibvirtConnection(opts.uri, {
      readOnly: opts.readOnly,
      callTimeoutMs: opts.callTimeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
      // The daemon is local and a connect attempt costs next to nothing: retry at least every 5 s (the client's
      // default backoff grows to 30 s), so the agent resumes within seconds of a libvirtd restart.
      maxDelayMs: MAX_RECONNECT_DELAY_MS,
      // No keepalive: the agent calls libvirt every interval under a deadline, which finds a dead daemon within
      // one interval + timeout (keepalive's default takes ~30 s). Keepalive would cost wake-ups on both sides
      // every 5 s (our PING check, libvirtd's PING after 5 s without a packet from us): on a 10 s interval that
      // was 3 of the agent's 8 wake-ups per interval (docs/agent.md#benchmarks).
      keepalive: false,
      ...opts.reconnect,
    });
    this.conn.on("connected", () => {
      const generation = this.status.generation + 1;
      this.status = { connected: true, state: "connected", generation, since: Date.now(), lastError: null };
    });
    this.conn.on("disconnected", (e) => this.down(e?.message ?? "connection closed"));
    this.conn.on("connectFailed", (e) => this.down(e.message));
  }

  private down(error: string): void {
    const since = this.status.connected ? Date.now() : this.status.since;
    this.status = { ...this.status, connected: false, since, lastError: error };
  }

  start(): void {
    this.conn.start();
  }

  onConnected(listener: () => void): void {
    // Registered after the constructor's own "connected" handler, so the status is already updated.
    this.conn.on("connected", listener);
  }

  connection(): ConnectionStatus {
    return { ...this.status, state: this.conn.state };
  }

  getAllDomainStats(req: StatsRequest): Promise<DomainStatsRecord[]> {
    return this.conn.with((c) =>
      c.getAllDomainStats({ stats: req.stats, flags: req.flags, timeoutMs: req.timeoutMs }),
    );
  }

  listAllDomains(timeoutMs: number): Promise<DomainRef[]> {
    return withTimeout(
      this.conn.with((c) => c.listAllDomains(0)),
      timeoutMs,
      "listAllDomains",
    );
  }

  domainXml(dom: DomainRef, timeoutMs: number): Promise<string> {
    return withTimeout(
      this.conn.with((c) => c.domainXml(dom, 0)),
      timeoutMs,
      `domainXml(${dom.name})`,
    );
  }

  hostname(): Promise<string> {
    return withTimeout(
      this.conn.with((c) => c.hostname()),
      this.timeoutMs,
      "hostname",
    );
  }

  nodeInfo(): Promise<NodeInfo> {
    return withTimeout(
      this.conn.with((c) => c.nodeInfo()),
      this.timeoutMs,
      "nodeInfo",
    );
  }

  libVersion(): Promise<number> {
    return withTimeout(
      this.conn.with((c) => c.libVersion()),
      this.timeoutMs,
      "libVersion",
    );
  }

  hypervisorVersion(): Promise<number> {
    return withTimeout(
      this.conn.with((c) => c.version()),
      this.timeoutMs,
      "version",
    );
  }

  nodeCpuStats(): Promise<Map<string, bigint>> {
    return withTimeout(
      this.conn.with((c) => c.nodeCpuStats()),
      this.timeoutMs,
      "nodeCpuStats",
    );
  }

  nodeMemoryStats(): Promise<Map<string, bigint>> {
    return withTimeout(
      this.conn.with((c) => c.nodeMemoryStats()),
      this.timeoutMs,
      "nodeMemoryStats",
    );
  }

  lifecycleEvents(): AsyncIterable<LifecycleEvent> {
    return this.conn.lifecycleEvents();
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}

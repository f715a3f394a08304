/**
 * Test double for HostSource: replies come from recorded fixtures (or whatever a test scripts), failures and
 * delays are injected per call. Not a mock of the client's internals: it implements the agent's own interface.
 */
import { AsyncQueue } from "../../shared/async-queue.ts";
import type { DomainRef, DomainStatsRecord, LifecycleEvent, NodeInfo } from "../../protocol/libvirt/types.ts";
import { withTimeout } from "../../shared/errors.ts";
import type { ConnectionStatus, HostSource, StatsRequest } from "../source.ts";

/** Two `virsh nodecpustats` reads of a 2-CPU lab host 10 s apart (kernel, user, idle, iowait in ns). */
const NODE_CPU_STATS = [
  new Map([
    ["kernel", 4099670000000n],
    ["user", 15235340000000n],
    ["idle", 33500740000000n],
    ["iowait", 66020000000n],
  ]),
  new Map([
    ["kernel", 4105190000000n],
    ["user", 15250070000000n],
    ["idle", 33500750000000n],
    ["iowait", 66030000000n],
  ]),
];
/** `virsh nodememstats` of the same host (KiB). */
const NODE_MEMORY_STATS = new Map([
  ["total", 24684084n],
  ["free", 21468512n],
  ["buffers", 38304n],
  ["cached", 1416000n],
]);

export class FakeSource implements HostSource {
  /** The next bulk stats reply, or an Error to reject with, or a promise (e.g. one that never settles). */
  nextStats: () => DomainStatsRecord[] | Error | Promise<DomainStatsRecord[]> = () => [];
  /** Domains listAllDomains returns; undefined = `domains`, those of the reply set with replyWith. */
  listed: DomainRef[] | Error | undefined;
  domains: DomainRef[] = [];
  xml = new Map<string, string>();
  conn: ConnectionStatus = { connected: true, state: "connected", generation: 1, since: 0, lastError: null };
  readonly requests: StatsRequest[] = [];
  xmlCalls = 0;
  listCalls = 0;
  hostCalls = 0;
  readonly events = new AsyncQueue<LifecycleEvent>(64);

  /** Every following bulk call answers with these records, and listing returns their domains. */
  replyWith(records: DomainStatsRecord[]): void {
    this.nextStats = () => records;
    this.domains = records.map((r) => r.domain);
  }

  /** Bounded by `req.timeoutMs` with the client's TimeoutError, as the HostSource contract requires. */
  getAllDomainStats(req: StatsRequest): Promise<DomainStatsRecord[]> {
    this.requests.push(req);
    const reply = Promise.resolve(this.nextStats()).then((r) => {
      if (r instanceof Error) throw r;
      return r;
    });
    return withTimeout(reply, req.timeoutMs, "libvirt call CONNECT_GET_ALL_DOMAIN_STATS");
  }
  async listAllDomains(): Promise<DomainRef[]> {
    this.listCalls++;
    if (this.listed instanceof Error) throw this.listed;
    return this.listed ?? this.domains;
  }
  async domainXml(dom: DomainRef): Promise<string> {
    this.xmlCalls++;
    const x = this.xml.get(dom.uuid);
    if (x === undefined) throw new Error(`no XML for ${dom.name}`);
    return x;
  }
  async hostname(): Promise<string> {
    this.hostCalls++;
    return "hv1";
  }
  async nodeInfo(): Promise<NodeInfo> {
    return {
      model: "x86_64",
      memoryKiB: 24n * 1024n * 1024n,
      cpus: 2,
      mhz: 2400,
      nodes: 1,
      sockets: 1,
      cores: 2,
      threads: 1,
    };
  }
  async libVersion(): Promise<number> {
    return 9000000;
  }
  async hypervisorVersion(): Promise<number> {
    return 7002022;
  }
  /** Node CPU stats replies in turn (the last one repeats): recorded from a lab host, ns. */
  cpuStats: Map<string, bigint>[] = NODE_CPU_STATS;
  memoryStats: Map<string, bigint> | Error = NODE_MEMORY_STATS;
  cpuStatsCalls = 0;
  async nodeCpuStats(): Promise<Map<string, bigint>> {
    return this.cpuStats[Math.min(this.cpuStatsCalls++, this.cpuStats.length - 1)]!;
  }
  async nodeMemoryStats(): Promise<Map<string, bigint>> {
    if (this.memoryStats instanceof Error) throw this.memoryStats;
    return this.memoryStats;
  }
  lifecycleEvents(): AsyncIterable<LifecycleEvent> {
    return this.events;
  }
  connection(): ConnectionStatus {
    return this.conn;
  }
  private readonly connectedListeners: (() => void)[] = [];
  onConnected(listener: () => void): void {
    this.connectedListeners.push(listener);
  }
  /** Sets the connection status; a connected one is announced as a new connection. */
  setConnection(conn: ConnectionStatus): void {
    this.conn = conn;
    if (conn.connected) for (const l of this.connectedListeners) l();
  }
  start(): void {}
  async close(): Promise<void> {
    this.events.close();
  }
}

/**
 * LibvirtClient: one connection to a libvirt daemon with typed methods. The connection sequence follows
 * libvirt's own remote driver: AUTH_LIST (+ AUTH_POLKIT when that is what is offered), keepalive feature check
 * (which also makes the server start pinging us), then CONNECT_OPEN with the URI's name and the RO flag.
 *
 * @example
 *   const c = await LibvirtClient.open("qemu:///system", { readOnly: true });
 *   try { for (const r of await c.getAllDomainStats()) console.log(r.domain.name, r.params.get("cpu.time")); }
 *   finally { await c.close(); }
 */
import { EventEmitter } from "node:events";
import { handshake, openTransport } from "./connect.ts";
import { type CallOptions, Dispatcher } from "./dispatcher.ts";
import { ConnectionClosedError, type ProtocolError } from "./errors.ts";
import { DomainEventRegistry, type EventSubscription } from "./events.ts";
import type { KeepaliveOptions } from "./keepalive.ts";
import type { AnyDomainEventFamily, EventOf, Procedure } from "./procedure.ts";
import { DomainEvents, NODE_STATS_ALL, P } from "./procedures.ts";
import type { LibvirtStream } from "./stream.ts";
import type { TlsFiles, Transport } from "./transport.ts";
import { typedParamsToMap } from "./typed-params.ts";
import type {
  BlockStats,
  DomainInfo,
  DomainRef,
  DomainStateInfo,
  DomainStatsRecord,
  InterfaceStats,
  LifecycleEvent,
  NodeInfo,
  TypedParamValue,
  VcpuInfo,
} from "./types.ts";
import { type ParseOptions, parseLibvirtUri } from "./uri.ts";

export interface LibvirtClientOptions {
  /** Read-only connection: the -ro socket and VIR_CONNECT_RO (also `?readonly` in the URI). */
  readOnly?: boolean;
  /** Socket connect timeout. Default 10 s. */
  connectTimeoutMs?: number;
  /** Default per-call timeout. Default 30 s. */
  callTimeoutMs?: number;
  /** Keepalive (PING every intervalMs, dead after `count` unanswered); false disables it. Default 5 s × 5. */
  keepalive?: KeepaliveOptions | false;
  /** TLS files overriding libvirt's default PKI paths. */
  tls?: TlsFiles;
  /** A ready transport instead of connecting (tests, custom tunnels). */
  transport?: Transport;
  /** URI parsing knobs (socket directory, existence check). */
  uriOptions?: ParseOptions;
}

export interface GetAllDomainStatsOptions {
  /** DomainStatsGroup bits; 0 = every group the driver supports. */
  stats?: number;
  /** DomainStatsFlag bits (e.g. ACTIVE | NOWAIT). */
  flags?: number;
  /** Restrict to these domains (the list-filter flags must then be 0). Empty = all. */
  domains?: DomainRef[];
  timeoutMs?: number;
}

export interface ClientEvents {
  close: [error: Error | undefined];
  protocolError: [error: ProtocolError];
}

export class LibvirtClient extends EventEmitter<ClientEvents> {
  /** The URI the client was opened with. */
  readonly requestedUri: string;
  readonly readOnly: boolean;
  readonly dispatcher: Dispatcher;
  private readonly eventRegistry: DomainEventRegistry;
  /** How many params each node-stats question has (asked once per connection: it is fixed by the driver). */
  private readonly nodeStatsCounts = new Map<string, number>();

  private constructor(uri: string, readOnly: boolean, dispatcher: Dispatcher) {
    super();
    this.requestedUri = uri;
    this.readOnly = readOnly;
    this.dispatcher = dispatcher;
    this.eventRegistry = new DomainEventRegistry(dispatcher);
    dispatcher.on("protocolError", (e) => {
      if (this.listenerCount("protocolError") > 0) this.emit("protocolError", e);
    });
    dispatcher.on("close", (e) => {
      this.eventRegistry.failAll(
        new ConnectionClosedError("event stream interrupted: connection closed", { cause: e }),
      );
      this.emit("close", e);
    });
  }

  static async open(uri = "qemu:///system", opts: LibvirtClientOptions = {}): Promise<LibvirtClient> {
    const target = parseLibvirtUri(uri, { ...opts.uriOptions, readOnly: opts.readOnly });
    const timeout = opts.connectTimeoutMs ?? 10_000;
    const transport = opts.transport ?? (await openTransport(target, opts.tls, timeout));
    const dispatcher = new Dispatcher(transport, { callTimeoutMs: opts.callTimeoutMs });
    const client = new LibvirtClient(uri, target.readOnly, dispatcher);
    try {
      await handshake(dispatcher, target, opts.keepalive, timeout);
    } catch (e) {
      await dispatcher.close(e as Error);
      throw e;
    }
    return client;
  }

  get closed(): boolean {
    return this.dispatcher.closed;
  }

  /** Escape hatch: any declared procedure. */
  call<A, R>(proc: Procedure<A, R>, args: A, opts?: CallOptions): Promise<R> {
    return this.dispatcher.call(proc, args, opts);
  }

  async hostname(): Promise<string> {
    return (await this.call(P.CONNECT_GET_HOSTNAME, undefined)).hostname;
  }
  /** Hypervisor version as major*1e6 + minor*1e3 + micro (e.g. 7002022 for QEMU 7.2.22). */
  async version(): Promise<number> {
    return Number((await this.call(P.CONNECT_GET_VERSION, undefined)).hvVer);
  }
  /** libvirt daemon version, same encoding (9000000 for 9.0.0). */
  async libVersion(): Promise<number> {
    return Number((await this.call(P.CONNECT_GET_LIB_VERSION, undefined)).libVer);
  }
  /** The canonical URI the daemon opened (e.g. "qemu:///system"). */
  async uri(): Promise<string> {
    return (await this.call(P.CONNECT_GET_URI, undefined)).uri;
  }
  /** Driver name, e.g. "QEMU" or "TEST". */
  async type(): Promise<string> {
    return (await this.call(P.CONNECT_GET_TYPE, undefined)).type;
  }
  async supportsFeature(feature: number): Promise<boolean> {
    return (await this.call(P.CONNECT_SUPPORTS_FEATURE, { feature })).supported !== 0;
  }
  async nodeInfo(): Promise<NodeInfo> {
    const r = await this.call(P.NODE_GET_INFO, undefined);
    const { model, cpus, mhz, nodes, sockets, cores, threads } = r;
    return { model, memoryKiB: r.memory, cpus, mhz, nodes, sockets, cores, threads };
  }

  /**
   * virNodeGetCPUStats: the host's CPU time by mode in ns, summed over all CPUs (or of CPU `cpuNum`). On Linux
   * the fields are `kernel`, `user`, `idle` and `iowait` (/proc/stat, ticks scaled to ns). The first call on a
   * connection also asks how many fields there are; later calls are one round trip.
   */
  async nodeCpuStats(cpuNum = NODE_STATS_ALL): Promise<Map<string, bigint>> {
    return this.nodeStats(`cpu:${cpuNum}`, (nparams) =>
      this.call(P.NODE_GET_CPU_STATS, { cpuNum, nparams, flags: 0 }),
    );
  }
  /**
   * virNodeGetMemoryStats: the host's memory in KiB for all cells (or NUMA cell `cellNum`). On Linux the fields
   * are `total`, `free`, `buffers` and `cached` (/proc/meminfo) for all cells, `total` and `free` for one.
   */
  async nodeMemoryStats(cellNum = NODE_STATS_ALL): Promise<Map<string, bigint>> {
    return this.nodeStats(`memory:${cellNum}`, (nparams) =>
      this.call(P.NODE_GET_MEMORY_STATS, { nparams, cellNum, flags: 0 }),
    );
  }
  private async nodeStats(
    key: string,
    ask: (nparams: number) => Promise<{ params: { field: string; value: bigint }[]; nparams: number }>,
  ): Promise<Map<string, bigint>> {
    let count = this.nodeStatsCounts.get(key);
    if (count === undefined) {
      count = (await ask(0)).nparams;
      this.nodeStatsCounts.set(key, count);
    }
    if (count <= 0) return new Map();
    return new Map((await ask(count)).params.map((p) => [p.field, p.value]));
  }

  /** Domains matching DomainStatsFlag list bits (ACTIVE, INACTIVE, ...); 0 = all. */
  async listAllDomains(flags = 0): Promise<DomainRef[]> {
    return (await this.call(P.CONNECT_LIST_ALL_DOMAINS, { needResults: 1, flags })).domains;
  }
  async lookupByName(name: string): Promise<DomainRef> {
    return (await this.call(P.DOMAIN_LOOKUP_BY_NAME, { name })).dom;
  }
  async lookupByUuid(uuid: string): Promise<DomainRef> {
    return (await this.call(P.DOMAIN_LOOKUP_BY_UUID, { uuid })).dom;
  }
  async domainInfo(dom: DomainRef): Promise<DomainInfo> {
    const r = await this.call(P.DOMAIN_GET_INFO, { dom });
    return {
      state: r.state,
      maxMemKiB: r.maxMem,
      memoryKiB: r.memory,
      nrVirtCpu: r.nrVirtCpu,
      cpuTimeNs: r.cpuTime,
    };
  }
  async domainState(dom: DomainRef, flags = 0): Promise<DomainStateInfo> {
    return this.call(P.DOMAIN_GET_STATE, { dom, flags });
  }
  /** flags: SECURE=1, INACTIVE=2, UPDATE_CPU=4, MIGRATABLE=8. */
  async domainXml(dom: DomainRef, flags = 0): Promise<string> {
    return (await this.call(P.DOMAIN_GET_XML_DESC, { dom, flags })).xml;
  }
  /** `path`: a disk target ("vda") or source path. */
  async blockStats(dom: DomainRef, path: string): Promise<BlockStats> {
    return this.call(P.DOMAIN_BLOCK_STATS, { dom, path });
  }
  /** `device`: interface target ("vnet0") or MAC address. */
  async interfaceStats(dom: DomainRef, device: string): Promise<InterfaceStats> {
    return this.call(P.DOMAIN_INTERFACE_STATS, { dom, device });
  }
  /** MemoryStatTag → value (KiB for sizes, counts for faults, seconds for LAST_UPDATE). */
  async memoryStats(dom: DomainRef, maxStats = 32, flags = 0): Promise<Map<number, bigint>> {
    const r = await this.call(P.DOMAIN_MEMORY_STATS, { dom, maxStats, flags });
    return new Map(r.stats.map((s) => [s.tag, s.val]));
  }
  /** Per-vCPU state; `maxinfo` defaults to the domain's vCPU count. CPU maps are not requested. */
  async vcpus(dom: DomainRef, maxinfo?: number): Promise<VcpuInfo[]> {
    const n = maxinfo ?? (await this.domainInfo(dom)).nrVirtCpu;
    const r = await this.call(P.DOMAIN_GET_VCPUS, { dom, maxinfo: n, maplen: 0 });
    return r.info.map((i) => ({ number: i.number, state: i.state, cpuTimeNs: i.cpuTime, cpu: i.cpu }));
  }
  /** Whole-domain CPU stats (cpu_time, user_time, system_time, ... in ns). */
  async cpuStats(dom: DomainRef): Promise<Map<string, TypedParamValue>> {
    const [total] = await this.cpuStatsRange(dom, -1, 1);
    return total ?? new Map();
  }
  /** Per host CPU stats for CPUs [startCpu, startCpu+ncpus), or the total with startCpu -1, ncpus 1. */
  async cpuStatsRange(
    dom: DomainRef,
    startCpu: number,
    ncpus: number,
  ): Promise<Map<string, TypedParamValue>[]> {
    // First ask how many params each CPU has, then fetch them (libvirt's two-step API).
    const probe = await this.call(P.DOMAIN_GET_CPU_STATS, {
      dom,
      nparams: 0,
      startCpu,
      ncpus: startCpu === -1 ? 1 : ncpus,
      flags: 0,
    });
    const nparams = probe.nparams;
    if (nparams <= 0) return [];
    const r = await this.call(P.DOMAIN_GET_CPU_STATS, { dom, nparams, startCpu, ncpus, flags: 0 });
    const out: Map<string, TypedParamValue>[] = [];
    for (let i = 0; i < r.params.length; i += nparams)
      out.push(typedParamsToMap(r.params.slice(i, i + nparams)));
    return out;
  }

  /** CONNECT_GET_ALL_DOMAIN_STATS: the bulk call collectors use; one record per domain. */
  async getAllDomainStats(opts: GetAllDomainStatsOptions = {}): Promise<DomainStatsRecord[]> {
    const args = { doms: opts.domains ?? [], stats: opts.stats ?? 0, flags: (opts.flags ?? 0) >>> 0 };
    return (await this.call(P.CONNECT_GET_ALL_DOMAIN_STATS, args, { timeoutMs: opts.timeoutMs })).retStats;
  }

  /**
   * Sends a guest-agent command (JSON text or object) through libvirt; returns the agent's raw JSON reply,
   * or null when the command has no reply. timeoutSec: -2 block, -1 libvirt default (5 s), 0 no wait.
   */
  async qemuAgentCommand(dom: DomainRef, cmd: string | object, timeoutSec = -1): Promise<string | null> {
    const text = typeof cmd === "string" ? cmd : JSON.stringify(cmd);
    const waitMs = timeoutSec > 0 ? timeoutSec * 1000 : 5000;
    const r = await this.call(
      P.QEMU_DOMAIN_AGENT_COMMAND,
      { dom, cmd: text, timeout: timeoutSec, flags: 0 },
      { timeoutMs: waitMs + 10_000 },
    );
    return r.result;
  }
  /**
   * DOMAIN_GET_GUEST_INFO (virsh guestinfo): the guest agent's users, OS, timezone, host name, filesystems,
   * disks and interfaces in one call, as flat typed params ("fs.0.mountpoint", ...). `types`: GuestInfoType
   * bits, 0 for all. Needs a read-write connection; `timeoutMs` bounds the RPC (libvirt's agent waits 5 s
   * per command by default).
   */
  async guestInfo(
    dom: DomainRef,
    types = 0,
    opts: { timeoutMs?: number } = {},
  ): Promise<Map<string, TypedParamValue>> {
    const r = await this.call(P.DOMAIN_GET_GUEST_INFO, { dom, types, flags: 0 }, opts);
    return typedParamsToMap(r.params);
  }
  /** QMP (or HMP with `hmp: true`) passthrough; returns the raw reply text. */
  async qemuMonitorCommand(
    dom: DomainRef,
    cmd: string | object,
    opts: { hmp?: boolean } = {},
  ): Promise<string> {
    const text = typeof cmd === "string" ? cmd : JSON.stringify(cmd);
    return (await this.call(P.QEMU_DOMAIN_MONITOR_COMMAND, { dom, cmd: text, flags: opts.hmp ? 1 : 0 }))
      .result;
  }

  /** Opens the domain's console (or `devName`) as a two-way stream. force: steal it from another client. */
  openConsole(
    dom: DomainRef,
    opts: { devName?: string; force?: boolean; safe?: boolean } = {},
  ): Promise<LibvirtStream> {
    const flags = (opts.force ? 1 : 0) | (opts.safe ? 2 : 0);
    return this.dispatcher.openStream(P.DOMAIN_OPEN_CONSOLE, { dom, devName: opts.devName ?? null, flags });
  }

  /**
   * Events of one family (DomainEvents.LIFECYCLE, .AGENT_LIFECYCLE, .REBOOT, ...) for all domains. Registers
   * the family with the daemon on first use (resolves once registered) and deregisters on close(). Each
   * subscription has its own queue of `queueSize` events; when full, the oldest is dropped and `sub.dropped`
   * counts it. Ends with ConnectionClosedError if the connection drops.
   *
   * @example
   *   const sub = await c.events(DomainEvents.AGENT_LIFECYCLE);
   *   for await (const e of sub) console.log(e.domain.name, e.state === AgentLifecycleState.CONNECTED);
   */
  events<F extends AnyDomainEventFamily>(
    family: F,
    opts: { queueSize?: number } = {},
  ): Promise<EventSubscription<EventOf<F>>> {
    return this.eventRegistry.subscribe(family, opts.queueSize);
  }

  /** Lifecycle events of all domains: `events(DomainEvents.LIFECYCLE)`. */
  lifecycleEvents(opts: { queueSize?: number } = {}): Promise<EventSubscription<LifecycleEvent>> {
    return this.events(DomainEvents.LIFECYCLE, opts);
  }

  /** Defines (persists) a domain from XML; flags (VALIDATE=1) use DOMAIN_DEFINE_XML_FLAGS. */
  async define(xml: string, flags = 0): Promise<DomainRef> {
    const r = flags
      ? await this.call(P.DOMAIN_DEFINE_XML_FLAGS, { xml, flags })
      : await this.call(P.DOMAIN_DEFINE_XML, { xml });
    return r.dom;
  }
  /** Starts a defined domain. */
  async create(dom: DomainRef): Promise<void> {
    await this.call(P.DOMAIN_CREATE, { dom });
  }
  /** Creates and starts a transient domain. */
  async createXml(xml: string, flags = 0): Promise<DomainRef> {
    return (await this.call(P.DOMAIN_CREATE_XML, { xml, flags })).dom;
  }
  /** Hard stop. flags GRACEFUL=1 uses DOMAIN_DESTROY_FLAGS. */
  async destroy(dom: DomainRef, flags = 0): Promise<void> {
    if (flags) await this.call(P.DOMAIN_DESTROY_FLAGS, { dom, flags });
    else await this.call(P.DOMAIN_DESTROY, { dom });
  }
  /** Removes the definition; flags (MANAGED_SAVE=1, SNAPSHOTS_METADATA=2, NVRAM=4, ...) use UNDEFINE_FLAGS. */
  async undefine(dom: DomainRef, flags = 0): Promise<void> {
    if (flags) await this.call(P.DOMAIN_UNDEFINE_FLAGS, { dom, flags });
    else await this.call(P.DOMAIN_UNDEFINE, { dom });
  }
  async suspend(dom: DomainRef): Promise<void> {
    await this.call(P.DOMAIN_SUSPEND, { dom });
  }
  async resume(dom: DomainRef): Promise<void> {
    await this.call(P.DOMAIN_RESUME, { dom });
  }

  /**
   * Deregisters events, sends CONNECT_CLOSE, closes the socket; every timer is cleared. Safe to call twice.
   * A connection that is already gone is not an error; a daemon error on CONNECT_CLOSE is rethrown after
   * the socket is closed.
   */
  async close(): Promise<void> {
    if (this.dispatcher.closed) {
      await this.dispatcher.close();
      return;
    }
    try {
      await this.eventRegistry.close();
      await this.call(P.CONNECT_CLOSE, undefined, { timeoutMs: 5000 });
    } catch (e) {
      if (!(e instanceof ConnectionClosedError)) {
        await this.dispatcher.close();
        throw e;
      }
    }
    await this.dispatcher.close();
  }
}

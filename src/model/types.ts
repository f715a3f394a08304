/**
 * The typed data model the agent produces each interval and that the server, CLI and web share. Plain data,
 * JSON-safe (no bigint, no Map): units are seconds and bytes, timestamps are epoch milliseconds, rates are per
 * second over the MEASURED time between two samples. `null` means "not known" (first sample, guest without a
 * balloon driver, ...), never zero.
 */

/** A cumulative counter and its rate per second since the previous sample (null on the first sample). */
export interface CounterValue {
  total: number;
  perSecond: number | null;
}

export type DomainStateName =
  | "nostate"
  | "running"
  | "blocked"
  | "paused"
  | "shutdown"
  | "shutoff"
  | "crashed"
  | "pmsuspended"
  | "unknown";

export interface StateSample {
  state: DomainStateName;
  /** virDomainState value. */
  code: number;
  /** Reason name for this state (e.g. `ioerror` for paused), `unknown` when libvirt gives none. */
  reason: string;
  reasonCode: number;
  /** True while a QEMU process exists for the domain (running, paused, blocked, ...). */
  active: boolean;
  /** Seconds since the QEMU process started; null when it cannot be read (remote host, no /proc access). */
  uptimeSeconds: number | null;
}

/** Whether this interval's stats for the domain are fresh: see docs/agent.md "Skipped domains". */
export type StatsStatus = "ok" | "partial" | "missing";

export interface StatsFreshness {
  status: StatsStatus;
  /** How many intervals this domain's stats were partial or missing since the agent started. */
  skippedTotal: number;
  /** When the last complete record was taken (epoch ms); null if never. */
  lastCompleteAt: number | null;
}

export interface CpuSample {
  timeSeconds: CounterValue;
  userSeconds: CounterValue | null;
  systemSeconds: CounterValue | null;
  /** CPU used over the measured window; 1 = one host CPU fully busy (may exceed 1). */
  hostCpuRatio: number | null;
  /** Same, divided by the domain's current vCPU count: 1 = all vCPUs fully busy. */
  vcpuRatio: number | null;
}

export interface VcpuEntry {
  index: number;
  /** virVcpuState: 0 offline, 1 running, 2 blocked. */
  state: number | null;
  timeSeconds: CounterValue | null;
  /** Time the vCPU thread waited for I/O (vcpu.N.wait). */
  waitSeconds: CounterValue | null;
  /** Time runnable but waiting for a host CPU (vcpu.N.delay, schedstat run-queue time): steal as seen by the guest. */
  delaySeconds: CounterValue | null;
  halted: boolean | null;
}

export interface VcpuSample {
  current: number;
  maximum: number;
  list: VcpuEntry[];
}

export type MemoryUsedFormula = "available-usable" | "available-unused-caches" | "available-unused";

export interface MemorySample {
  /** Memory currently assigned to the guest (balloon.current). */
  currentBytes: number;
  /** Maximum memory the guest may be given (balloon.maximum): a limit, never usage. */
  maximumBytes: number;
  /** Resident set size of the QEMU process on the host. */
  rssBytes: number | null;
  /** From the guest's balloon driver (null without one or before its first report): */
  unusedBytes: number | null;
  availableBytes: number | null;
  usableBytes: number | null;
  diskCachesBytes: number | null;
  /** Memory the guest uses, derived from the balloon stats; see `usedFormula` and docs/agent.md. */
  usedBytes: number | null;
  usedFormula: MemoryUsedFormula | null;
  swapInBytes: CounterValue | null;
  swapOutBytes: CounterValue | null;
  majorFaults: CounterValue | null;
  minorFaults: CounterValue | null;
  /** When the guest last reported balloon stats (epoch seconds); null if never. */
  balloonLastUpdate: number | null;
}

export interface BlockSample {
  /** Target device as the guest sees it (vda, sda, ...). */
  name: string;
  path: string | null;
  readBytes: CounterValue | null;
  writeBytes: CounterValue | null;
  readRequests: CounterValue | null;
  writeRequests: CounterValue | null;
  flushRequests: CounterValue | null;
  readTimeSeconds: CounterValue | null;
  writeTimeSeconds: CounterValue | null;
  flushTimeSeconds: CounterValue | null;
  /** Average seconds per request over the window: Δtime / Δrequests; null when no request completed. */
  readLatencySeconds: number | null;
  writeLatencySeconds: number | null;
  flushLatencySeconds: number | null;
  capacityBytes: number | null;
  allocationBytes: number | null;
  physicalBytes: number | null;
}

export interface InterfaceSample {
  /** Host-side device (e.g. vnet0): tap names change across restarts, so `mac` is the stable key. */
  name: string;
  mac: string | null;
  rxBytes: CounterValue | null;
  rxPackets: CounterValue | null;
  rxErrors: CounterValue | null;
  rxDrops: CounterValue | null;
  txBytes: CounterValue | null;
  txPackets: CounterValue | null;
  txErrors: CounterValue | null;
  txDrops: CounterValue | null;
}

/** KVM statistics as libvirt reports them (query-stats): `.sum` counters, `.cur` instant and `.max` peak values. */
export interface KvmStatSet {
  counters: Record<string, CounterValue>;
  current: Record<string, number>;
  peak: Record<string, number>;
}

export interface KvmSample {
  vcpus: Array<KvmStatSet & { index: number }>;
  /** Each per-vCPU counter summed over the vCPUs, with its rate. */
  totals: Record<string, CounterValue>;
  vm: KvmStatSet;
}

export interface DiskMetadata {
  target: string;
  bus: string | null;
  device: string | null;
  type: string | null;
  source: string | null;
  format: string | null;
  cache: string | null;
  io: string | null;
  serial: string | null;
}

export interface InterfaceMetadata {
  mac: string | null;
  model: string | null;
  type: string | null;
  bridge: string | null;
  network: string | null;
  targetDev: string | null;
}

export interface NovaMetadata {
  instanceName: string | null;
  projectName: string | null;
  projectUuid: string | null;
  userName: string | null;
  userUuid: string | null;
  flavorName: string | null;
  flavorVcpus: number | null;
  flavorMemoryMiB: number | null;
  flavorDiskGiB: number | null;
  creationTime: string | null;
}

export interface DomainMetadata {
  title: string | null;
  disks: DiskMetadata[];
  interfaces: InterfaceMetadata[];
  nova: NovaMetadata | null;
  /** When the XML was read (epoch ms): refreshed on lifecycle events, not every interval. */
  fetchedAt: number;
}

export interface DomainSample {
  /**
   * Where the domain comes from: absent for libvirt's domains; "socket" for a guest outside libvirt whose agent
   * the host agent reaches over a unix socket (config guest.sockets). A socket guest has only its guest section
   * (and name, uuid, id 0): libvirt's sections (state, cpu, ..., metadata) stay null.
   */
  source?: "socket";
  name: string;
  uuid: string;
  /** Hypervisor id, -1 when not running. A changed id means the QEMU process was restarted. */
  id: number;
  /** When the bulk stats call that produced this sample returned (epoch ms). */
  sampledAt: number;
  /** Measured seconds since the previous complete sample of this domain, the base of every rate. */
  elapsedSeconds: number | null;
  stats: StatsFreshness;
  state: StateSample | null;
  cpu: CpuSample | null;
  vcpus: VcpuSample | null;
  memory: MemorySample | null;
  block: BlockSample[] | null;
  interfaces: InterfaceSample[] | null;
  kvm: KvmSample | null;
  metadata: DomainMetadata | null;
  /** What the guest itself reports through its agent (async sources, issue 11); null when not collected. */
  guest: GuestSample | null;
  /** KVM exit tracing of the domain while a tracing run is on (async source, issue 12); null otherwise. */
  trace: TraceSample | null;
}

/**
 * The guest's own view, filled by async sources (agent/async-sources.ts) from the QEMU guest agent. Each
 * source owns its part; a part is null until its first result and after its results expire.
 */
export interface GuestSample {
  /** When the newest of the merged results was fetched (epoch ms). */
  sampledAt: number;
  /** The guest agent's own health. */
  agent: GuestAgentHealth;
  /** Each part below is null until first read (or when the agent lacks every command that gives it). */
  identity: GuestIdentity | null;
  users: GuestUser[] | null;
  cpu: GuestCpu | null;
  load: GuestLoad | null;
  memory: GuestMemory | null;
  vcpus: GuestVcpus | null;
  clock: GuestClock | null;
  filesystems: GuestFilesystem[] | null;
  disks: GuestDisk[] | null;
  interfaces: GuestInterface[] | null;
  /** Series of the custom commands declared in the agent's config (guest.custom); null when none answered. */
  custom: GuestCustomSeries[] | null;
  /** Lists the guest sent longer than kvmon's caps, cut to the cap ("filesystems", "users", ...). */
  truncated: string[];
}

/**
 * connected: the last call answered. unresponsive: the agent is connected but did not answer in time.
 * absent: no agent on the channel (not installed, not started, or the channel is missing).
 */
export type GuestAgentStatus = "connected" | "unresponsive" | "absent";

export interface GuestAgentHealth {
  status: GuestAgentStatus;
  /** qemu-ga's version (guest-info); null until read. */
  version: string | null;
  /** Commands the agent lists as enabled (guest-info). */
  supportedCommands: number;
  /** The last per-guest error (bad reply, failed command, timeout); null after a clean cycle. */
  lastError: string | null;
  /** When the agent last answered (epoch ms); null if never. */
  lastSeenAt: number | null;
}

export interface GuestIdentity {
  osId: string | null;
  osName: string | null;
  osPrettyName: string | null;
  osVersionId: string | null;
  kernelRelease: string | null;
  kernelVersion: string | null;
  machine: string | null;
  hostname: string | null;
  timezone: string | null;
  /** Offset from UTC in seconds (east positive). */
  timezoneOffsetSeconds: number | null;
}

export interface GuestUser {
  name: string;
  /** Windows domain; null on Linux. */
  domain: string | null;
  /** Login time of the user's first session (epoch seconds). */
  loginTime: number;
}

/** Shares of in-guest CPU time over the measured window (0-1 each, all CPUs together); null on the first read. */
export interface GuestCpu {
  user: number | null;
  nice: number | null;
  system: number | null;
  idle: number | null;
  iowait: number | null;
  irq: number | null;
  softirq: number | null;
  steal: number | null;
  /** guest-get-cpustats, or /proc/stat through the guest-file commands. */
  source: "cpustats" | "proc-stat";
}

export interface GuestLoad {
  load1: number;
  load5: number;
  load15: number;
  source: "get-load" | "proc-loadavg";
}

/** From the guest's /proc/meminfo (the agent has no memory command). */
export interface GuestMemory {
  totalBytes: number;
  availableBytes: number | null;
  freeBytes: number | null;
  cachedBytes: number | null;
  buffersBytes: number | null;
  swapTotalBytes: number | null;
  swapFreeBytes: number | null;
}

/** One series of a custom command's metric: its family's name, its label value (if declared), the scaled value. */
export interface GuestCustomSeries {
  metric: string;
  label: string | null;
  value: number;
}

export interface GuestVcpus {
  online: number;
  total: number;
}

export interface GuestClock {
  /** Guest time minus host time (seconds), the host's time taken at the middle of the call. */
  driftSeconds: number;
}

export interface GuestFilesystem {
  mountpoint: string;
  /** Device name as the guest names it (vda1, dm-0). */
  device: string;
  type: string;
  usedBytes: number | null;
  totalBytes: number | null;
  /** The guest's disks it sits on (libvirt's disk alias where known, else the guest device). */
  disks: string[];
}

export interface GuestDisk {
  name: string;
  readBytes: CounterValue | null;
  writeBytes: CounterValue | null;
  readOps: CounterValue | null;
  writeOps: CounterValue | null;
}

export interface GuestAddress {
  type: "ipv4" | "ipv6";
  address: string;
  prefix: number;
}

export interface GuestInterface {
  name: string;
  mac: string | null;
  addresses: GuestAddress[];
  rxBytes: CounterValue | null;
  txBytes: CounterValue | null;
  rxPackets: CounterValue | null;
  txPackets: CounterValue | null;
  rxErrors: CounterValue | null;
  txErrors: CounterValue | null;
  rxDropped: CounterValue | null;
  txDropped: CounterValue | null;
}

/** The hypervisor-level trace of the domain (tracefs), filled by the tracer's async source while tracing. */
export interface TraceSample {
  /** When the merged result was read (epoch ms). */
  sampledAt: number;
}

export interface NodeSample {
  model: string;
  memoryBytes: number;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}

/** Host memory from libvirt's node memory stats (Linux: /proc/meminfo), in bytes. */
export interface HostMemoryUsage {
  totalBytes: number;
  freeBytes: number;
  /** Null when libvirt gives no such field (one NUMA cell, a non-Linux host). */
  buffersBytes: number | null;
  cachedBytes: number | null;
  /** total - free - buffers - cached: what processes and the kernel hold and cannot drop at once. */
  usedBytes: number;
}

/** Host CPU and memory usage, from one NODE_GET_CPU_STATS and one NODE_GET_MEMORY_STATS call per interval. */
export interface HostUsage {
  /** When it was read (epoch ms): rates are over the time between two of these. */
  sampledAt: number;
  /** CPU time of all host CPUs by mode as libvirt names it (Linux: kernel, user, idle, iowait), in seconds. */
  cpuSeconds: Record<string, CounterValue>;
  /**
   * Busy share of all host CPUs since the previous sample, 0..1: the increase of every mode but idle and iowait
   * over the increase of all of them. Null on the first sample and after a counter went backwards.
   */
  cpuRatio: number | null;
  memory: HostMemoryUsage | null;
}

export interface HostSample {
  hostname: string | null;
  libvirtVersion: string | null;
  hypervisorVersion: string | null;
  node: NodeSample | null;
  /** When hostname, versions and node info were last read (epoch ms): they are refreshed rarely. */
  infoFetchedAt: number | null;
  /** Domains known to libvirt, by state name (from the bulk stats reply); every state present, 0 when none. */
  domainsByState: Record<DomainStateName, number>;
  domainsTotal: number;
  /** Host CPU and memory usage; null when the host-usage collector is off or its calls failed. */
  usage: HostUsage | null;
}

export interface CollectorRun {
  name: string;
  durationSeconds: number;
  success: boolean;
  /** Domains for which this collector failed in this interval (it still ran for the others). */
  failedDomains: number;
  error: string | null;
}

/** How an async source is doing over all domains, for kvmon_source_* and the fleet's view of the agent. */
export interface SourceStatus {
  name: string;
  /** Calls started since the agent started. */
  calls: number;
  /** Calls that failed or missed their deadline. */
  failures: number;
  /** Of the failures, those that missed their deadline. */
  timeouts: number;
  /** Results dropped because they came after their deadline or for a domain that vanished or restarted. */
  lateDiscards: number;
  /** Calls running now (at most one per domain). */
  inFlight: number;
  /** Domains waiting out a back-off after consecutive failures. */
  backingOff: number;
  /** When a call last succeeded (epoch ms); null if never. */
  lastSuccessAt: number | null;
  lastError: string | null;
}

/** Which agent produced a snapshot: the fleet server keys hosts by it. */
export interface AgentIdentity {
  /** The agent machine's host name (os.hostname()). */
  hostname: string;
  /** The machine's stable id (DMI product UUID, else systemd machine-id); null if neither is readable. */
  hostUuid: string | null;
}

/** Bumped on any incompatible change of the snapshot's shape (a field renamed, retyped or removed). */
export const SNAPSHOT_SCHEMA_VERSION = 1;

export interface Snapshot {
  schemaVersion: typeof SNAPSHOT_SCHEMA_VERSION;
  agent: AgentIdentity;
  /** When the collection started and finished (epoch ms). */
  startedAt: number;
  finishedAt: number;
  host: HostSample;
  domains: DomainSample[];
  collectors: CollectorRun[];
  sources: SourceStatus[];
}

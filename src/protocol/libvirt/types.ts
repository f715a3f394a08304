/**
 * Public data types of the libvirt client, shared by everything above the protocol layer (collectors, lab,
 * tests). Kept free of codec details so users can import them without pulling in the wire machinery.
 */

/** A domain as libvirt names it on the wire (remote_nonnull_domain). */
export interface DomainRef {
  name: string;
  /** Canonical lowercase 8-4-4-4-12 form. */
  uuid: string;
  /** Hypervisor id; -1 when the domain is not running. */
  id: number;
}

/** libvirt typed-parameter types (virTypedParameterType). */
export const TypedParamType = {
  INT: 1,
  UINT: 2,
  LLONG: 3,
  ULLONG: 4,
  DOUBLE: 5,
  BOOLEAN: 6,
  STRING: 7,
} as const;
export type TypedParamType = (typeof TypedParamType)[keyof typeof TypedParamType];

/**
 * A typed parameter's value. 64-bit integers (LLONG/ULLONG) stay bigint so counters such as `cpu.time`
 * (nanoseconds) or `block.0.wr.bytes` never lose precision; INT/UINT/DOUBLE are numbers.
 */
export type TypedParamValue = number | bigint | boolean | string;

export interface TypedParam {
  field: string;
  type: TypedParamType;
  value: TypedParamValue;
}

/** One domain's record from CONNECT_GET_ALL_DOMAIN_STATS: field name (e.g. `vcpu.0.exits.sum`) to value. */
export interface DomainStatsRecord {
  domain: DomainRef;
  params: Map<string, TypedParamValue>;
}

/** Stat groups for CONNECT_GET_ALL_DOMAIN_STATS (virDomainStatsTypes). */
export const DomainStatsGroup = {
  STATE: 1,
  CPU_TOTAL: 2,
  BALLOON: 4,
  VCPU: 8,
  INTERFACE: 16,
  BLOCK: 32,
  PERF: 64,
  IOTHREAD: 128,
  MEMORY: 256,
  DIRTYRATE: 512,
  VM: 1024,
} as const;

/** Flags for CONNECT_GET_ALL_DOMAIN_STATS and CONNECT_LIST_ALL_DOMAINS (virConnectGetAllDomainStatsFlags). */
export const DomainStatsFlag = {
  ACTIVE: 1,
  INACTIVE: 2,
  PERSISTENT: 4,
  TRANSIENT: 8,
  RUNNING: 16,
  PAUSED: 32,
  SHUTOFF: 64,
  OTHER: 128,
  /** Skip a domain whose job lock is held instead of waiting for it (1 << 29). */
  NOWAIT: 0x20000000,
  BACKING: 0x40000000,
  /** Fail instead of silently dropping unsupported groups (1 << 31). */
  ENFORCE_STATS: 0x80000000,
} as const;

/** virDomainState. */
export const DomainState = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const;

/** virDomainEventType (lifecycle events). */
export const LifecycleEventType = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const;

export interface LifecycleEvent {
  domain: DomainRef;
  /** A LifecycleEventType value. */
  event: number;
  /** Event-specific detail (e.g. STOPPED: SHUTDOWN=0, DESTROYED=1, CRASHED=2, ...). */
  detail: number;
}

export interface RebootEvent {
  domain: DomainRef;
}

export interface RtcChangeEvent {
  domain: DomainRef;
  /** New RTC offset from UTC, in seconds. */
  offsetSeconds: bigint;
}

export interface WatchdogEvent {
  domain: DomainRef;
  /** virDomainEventWatchdogAction (0 none, 1 pause, 2 reset, 3 poweroff, 4 shutdown, 5 debug, 6 inject-nmi). */
  action: number;
}

/** DEVICE_REMOVED and DEVICE_ADDED: the device's alias (e.g. "virtio-disk1"). */
export interface DeviceAliasEvent {
  domain: DomainRef;
  devAlias: string;
}

/** virConnectDomainEventAgentLifecycleState. */
export const AgentLifecycleState = { CONNECTED: 1, DISCONNECTED: 2 } as const;

/** virConnectDomainEventAgentLifecycleReason. */
export const AgentLifecycleReason = { UNKNOWN: 0, DOMAIN_STARTED: 1, CHANNEL: 2 } as const;

/** The guest agent connected to or disconnected from its channel (qemu-ga started or stopped in the guest). */
export interface AgentLifecycleEvent {
  domain: DomainRef;
  /** An AgentLifecycleState value. */
  state: number;
  /** An AgentLifecycleReason value. */
  reason: number;
}

export interface NodeInfo {
  model: string;
  /** KiB. */
  memoryKiB: bigint;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}

/** DOMAIN_GET_INFO. */
export interface DomainInfo {
  /** A DomainState value. */
  state: number;
  maxMemKiB: bigint;
  memoryKiB: bigint;
  nrVirtCpu: number;
  /** Nanoseconds of CPU time used. */
  cpuTimeNs: bigint;
}

/** DOMAIN_GET_STATE: a DomainState value and its state-specific reason. */
export interface DomainStateInfo {
  state: number;
  reason: number;
}

/** DOMAIN_BLOCK_STATS; -1 means "not available" as in libvirt. */
export interface BlockStats {
  rdReq: bigint;
  rdBytes: bigint;
  wrReq: bigint;
  wrBytes: bigint;
  errs: bigint;
}

/** DOMAIN_INTERFACE_STATS; -1 means "not available". */
export interface InterfaceStats {
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrs: bigint;
  rxDrop: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrs: bigint;
  txDrop: bigint;
}

/** virDomainMemoryStatTags. */
export const MemoryStatTag = {
  SWAP_IN: 0,
  SWAP_OUT: 1,
  MAJOR_FAULT: 2,
  MINOR_FAULT: 3,
  UNUSED: 4,
  AVAILABLE: 5,
  ACTUAL_BALLOON: 6,
  RSS: 7,
  USABLE: 8,
  LAST_UPDATE: 9,
  DISK_CACHES: 10,
  HUGETLB_PGALLOC: 11,
  HUGETLB_PGFAIL: 12,
} as const;

/** DOMAIN_GET_VCPUS, one entry per vCPU. */
export interface VcpuInfo {
  number: number;
  /** virVcpuState: OFFLINE=0, RUNNING=1, BLOCKED=2. */
  state: number;
  cpuTimeNs: bigint;
  /** Host CPU it last ran on, -1 if unknown. */
  cpu: number;
}

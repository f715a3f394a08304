/**
 * The procedures kvmon calls, declared as data: name, number, args schema, ret schema. Numbers are those of
 * remote_protocol.x / qemu_protocol.x (libvirt 9.0) and are exercised against the local daemon by the
 * integration tests. Adding a procedure is one declaration here; the dispatcher's codec does the rest.
 */
import { type Codec, x } from "../xdr/schema.ts";
import { domainEvent, qemu, remote } from "./procedure.ts";
import { domainStatsRecords } from "./stats-records.ts";
import { typedParams } from "./typed-params.ts";
import type {
  AgentLifecycleEvent,
  DeviceAliasEvent,
  LifecycleEvent,
  RebootEvent,
  RtcChangeEvent,
  WatchdogEvent,
} from "./types.ts";
import { DOMAIN_LIST_MAX, domain, nonnullString, nullableString, optionalDomain, uuid } from "./wire.ts";

const dom = x.struct({ dom: domain });
/** REMOTE_DOMAIN_GUEST_INFO_PARAMS_MAX. */
const GUEST_INFO_PARAMS_MAX = 2048;
const domFlags = x.struct({ dom: domain, flags: x.uint });
const domRet = x.struct({ dom: domain });
/** remote_node_get_{cpu,memory}_stats: a field name and an unsigned hyper (ns of CPU time, or KiB). */
const nodeStat = x.struct({ field: nonnullString, value: x.uhyper });
/** REMOTE_NODE_CPU_STATS_MAX and REMOTE_NODE_MEMORY_STATS_MAX. */
const NODE_STATS_MAX = 16;

export const P = {
  // --- connection ---
  CONNECT_OPEN: remote("CONNECT_OPEN", 1, x.struct({ name: nullableString, flags: x.uint })),
  CONNECT_CLOSE: remote("CONNECT_CLOSE", 2),
  CONNECT_GET_TYPE: remote("CONNECT_GET_TYPE", 3, undefined, x.struct({ type: nonnullString })),
  CONNECT_GET_VERSION: remote("CONNECT_GET_VERSION", 4, undefined, x.struct({ hvVer: x.uhyper })),
  CONNECT_GET_HOSTNAME: remote("CONNECT_GET_HOSTNAME", 59, undefined, x.struct({ hostname: nonnullString })),
  CONNECT_SUPPORTS_FEATURE: remote(
    "CONNECT_SUPPORTS_FEATURE",
    60,
    x.struct({ feature: x.int }),
    x.struct({ supported: x.int }),
  ),
  AUTH_LIST: remote("AUTH_LIST", 66, undefined, x.struct({ types: x.array(x.int, 20) })),
  AUTH_POLKIT: remote("AUTH_POLKIT", 70, undefined, x.struct({ complete: x.int })),
  CONNECT_GET_URI: remote("CONNECT_GET_URI", 110, undefined, x.struct({ uri: nonnullString })),
  CONNECT_GET_LIB_VERSION: remote("CONNECT_GET_LIB_VERSION", 157, undefined, x.struct({ libVer: x.uhyper })),
  NODE_GET_INFO: remote(
    "NODE_GET_INFO",
    6,
    undefined,
    x.struct({
      model: x.charArray(32),
      memory: x.uhyper,
      cpus: x.int,
      mhz: x.int,
      nodes: x.int,
      sockets: x.int,
      cores: x.int,
      threads: x.int,
    }),
  ),
  // virNodeGetCPUStats / virNodeGetMemoryStats: asked with nparams 0, the daemon answers only how many params it
  // has (its driver refuses any other count but that one); cpuNum/cellNum -1 = all CPUs/cells.
  NODE_GET_CPU_STATS: remote(
    "NODE_GET_CPU_STATS",
    227,
    x.struct({ cpuNum: x.int, nparams: x.int, flags: x.uint }),
    x.struct({ params: x.array(nodeStat, NODE_STATS_MAX), nparams: x.int }),
  ),
  NODE_GET_MEMORY_STATS: remote(
    "NODE_GET_MEMORY_STATS",
    228,
    x.struct({ nparams: x.int, cellNum: x.int, flags: x.uint }),
    x.struct({ params: x.array(nodeStat, NODE_STATS_MAX), nparams: x.int }),
  ),

  // --- domains: lookup and inspection ---
  CONNECT_LIST_ALL_DOMAINS: remote(
    "CONNECT_LIST_ALL_DOMAINS",
    273,
    x.struct({ needResults: x.int, flags: x.uint }),
    x.struct({ domains: x.array(domain, DOMAIN_LIST_MAX), ret: x.uint }),
  ),
  DOMAIN_LOOKUP_BY_NAME: remote("DOMAIN_LOOKUP_BY_NAME", 23, x.struct({ name: nonnullString }), domRet),
  DOMAIN_LOOKUP_BY_UUID: remote("DOMAIN_LOOKUP_BY_UUID", 24, x.struct({ uuid }), domRet),
  DOMAIN_GET_INFO: remote(
    "DOMAIN_GET_INFO",
    16,
    dom,
    // unsigned char / unsigned short are one 4-byte word each in rpcgen's XDR.
    x.struct({ state: x.uint, maxMem: x.uhyper, memory: x.uhyper, nrVirtCpu: x.uint, cpuTime: x.uhyper }),
  ),
  DOMAIN_GET_STATE: remote("DOMAIN_GET_STATE", 212, domFlags, x.struct({ state: x.int, reason: x.int })),
  DOMAIN_GET_XML_DESC: remote("DOMAIN_GET_XML_DESC", 14, domFlags, x.struct({ xml: nonnullString })),
  DOMAIN_BLOCK_STATS: remote(
    "DOMAIN_BLOCK_STATS",
    64,
    x.struct({ dom: domain, path: nonnullString }),
    // Wire order: rd_req, rd_bytes, wr_req, wr_bytes, errs (hyper each; -1 = not available).
    x.struct({ rdReq: x.hyper, rdBytes: x.hyper, wrReq: x.hyper, wrBytes: x.hyper, errs: x.hyper }),
  ),
  DOMAIN_INTERFACE_STATS: remote(
    "DOMAIN_INTERFACE_STATS",
    65,
    x.struct({ dom: domain, device: nonnullString }),
    x.struct({
      rxBytes: x.hyper,
      rxPackets: x.hyper,
      rxErrs: x.hyper,
      rxDrop: x.hyper,
      txBytes: x.hyper,
      txPackets: x.hyper,
      txErrs: x.hyper,
      txDrop: x.hyper,
    }),
  ),
  DOMAIN_MEMORY_STATS: remote(
    "DOMAIN_MEMORY_STATS",
    159,
    x.struct({ dom: domain, maxStats: x.uint, flags: x.uint }),
    x.struct({ stats: x.array(x.struct({ tag: x.int, val: x.uhyper }), 1024) }),
  ),
  DOMAIN_GET_VCPUS: remote(
    "DOMAIN_GET_VCPUS",
    20,
    x.struct({ dom: domain, maxinfo: x.int, maplen: x.int }),
    x.struct({
      info: x.array(x.struct({ number: x.uint, state: x.int, cpuTime: x.uhyper, cpu: x.int }), 16384),
      cpumaps: x.opaque(8388608),
    }),
  ),
  DOMAIN_GET_CPU_STATS: remote(
    "DOMAIN_GET_CPU_STATS",
    262,
    x.struct({ dom: domain, nparams: x.uint, startCpu: x.int, ncpus: x.uint, flags: x.uint }),
    x.struct({ params: typedParams(2048), nparams: x.int }),
  ),
  // remote_domain_get_guest_info_{args,ret}: one agent round per requested info type, answered as typed params
  // ("user.count", "fs.0.mountpoint", ...); REMOTE_DOMAIN_GUEST_INFO_PARAMS_MAX = 2048. Needs a read-write connection.
  DOMAIN_GET_GUEST_INFO: remote(
    "DOMAIN_GET_GUEST_INFO",
    418,
    x.struct({ dom: domain, types: x.uint, flags: x.uint }),
    x.struct({ params: typedParams(GUEST_INFO_PARAMS_MAX) }),
  ),
  CONNECT_GET_ALL_DOMAIN_STATS: remote(
    "CONNECT_GET_ALL_DOMAIN_STATS",
    344,
    x.struct({ doms: x.array(domain, DOMAIN_LIST_MAX), stats: x.uint, flags: x.uint }),
    x.struct({ retStats: domainStatsRecords }),
  ),

  // --- console stream and events ---
  DOMAIN_OPEN_CONSOLE: remote(
    "DOMAIN_OPEN_CONSOLE",
    201,
    x.struct({ dom: domain, devName: nullableString, flags: x.uint }),
    undefined,
    { stream: true },
  ),
  CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: remote(
    "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
    316,
    x.struct({ eventID: x.int, dom: optionalDomain }),
    x.struct({ callbackID: x.int }),
  ),
  CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: remote(
    "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY",
    317,
    x.struct({ callbackID: x.int }),
  ),

  // --- lifecycle control (lab and tests) ---
  DOMAIN_CREATE: remote("DOMAIN_CREATE", 9, dom),
  DOMAIN_CREATE_XML: remote("DOMAIN_CREATE_XML", 10, x.struct({ xml: nonnullString, flags: x.uint }), domRet),
  DOMAIN_DEFINE_XML: remote("DOMAIN_DEFINE_XML", 11, x.struct({ xml: nonnullString }), domRet),
  DOMAIN_DEFINE_XML_FLAGS: remote(
    "DOMAIN_DEFINE_XML_FLAGS",
    350,
    x.struct({ xml: nonnullString, flags: x.uint }),
    domRet,
  ),
  DOMAIN_DESTROY: remote("DOMAIN_DESTROY", 12, dom),
  DOMAIN_DESTROY_FLAGS: remote("DOMAIN_DESTROY_FLAGS", 234, domFlags),
  DOMAIN_SUSPEND: remote("DOMAIN_SUSPEND", 34, dom),
  DOMAIN_UNDEFINE: remote("DOMAIN_UNDEFINE", 35, dom),
  // 28, not 37 (37 is CONNECT_LIST_DOMAINS): checked against libvirtd 9.0, a wrong number answered 12 bytes.
  DOMAIN_RESUME: remote("DOMAIN_RESUME", 28, dom),
  DOMAIN_UNDEFINE_FLAGS: remote("DOMAIN_UNDEFINE_FLAGS", 231, domFlags),

  // --- QEMU program: passthrough to QMP and the guest agent ---
  QEMU_DOMAIN_MONITOR_COMMAND: qemu(
    "QEMU_DOMAIN_MONITOR_COMMAND",
    1,
    x.struct({ dom: domain, cmd: nonnullString, flags: x.uint }),
    x.struct({ result: nonnullString }),
  ),
  QEMU_DOMAIN_AGENT_COMMAND: qemu(
    "QEMU_DOMAIN_AGENT_COMMAND",
    3,
    x.struct({ dom: domain, cmd: nonnullString, timeout: x.int, flags: x.uint }),
    x.struct({ result: nullableString }),
  ),
} as const;

/** libvirt driver features asked with CONNECT_SUPPORTS_FEATURE (virDrvFeature). */
export const Feature = {
  FD_PASSING: 8,
  TYPED_PARAM_STRING: 9,
  PROGRAM_KEEPALIVE: 10,
  REMOTE_EVENT_CALLBACK: 14,
  REMOTE_CLOSE_CALLBACK: 15,
} as const;

/** Event IDs for CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY (virDomainEventID). */
export const DomainEventId = {
  LIFECYCLE: 0,
  REBOOT: 1,
  RTC_CHANGE: 2,
  WATCHDOG: 3,
  DEVICE_REMOVED: 15,
  AGENT_LIFECYCLE: 18,
  DEVICE_ADDED: 19,
} as const;

/** A message whose domain-specific part sits in a nested `msg` struct (the pre-callback message shapes). */
const nested = <T>(msg: Codec<T>) => x.struct({ callbackID: x.int, msg });

/**
 * The domain event families kvmon can subscribe to, declared as data (remote_protocol.x: the
 * remote_domain_event_callback_*_msg structs and REMOTE_PROC_DOMAIN_EVENT_CALLBACK_* numbers, libvirt 9.0).
 * Adding one is a declaration here plus its event type in types.ts; registration, re-registration after a
 * reconnect and fan-out are generic (events.ts, reconnecting.ts).
 */
export const DomainEvents = {
  LIFECYCLE: domainEvent(
    "LIFECYCLE",
    DomainEventId.LIFECYCLE,
    318,
    nested(x.struct({ dom: domain, event: x.int, detail: x.int })),
    (m): LifecycleEvent => ({ domain: m.msg.dom, event: m.msg.event, detail: m.msg.detail }),
  ),
  REBOOT: domainEvent(
    "REBOOT",
    DomainEventId.REBOOT,
    319,
    nested(x.struct({ dom: domain })),
    (m): RebootEvent => ({ domain: m.msg.dom }),
  ),
  RTC_CHANGE: domainEvent(
    "RTC_CHANGE",
    DomainEventId.RTC_CHANGE,
    320,
    nested(x.struct({ dom: domain, offset: x.hyper })),
    (m): RtcChangeEvent => ({ domain: m.msg.dom, offsetSeconds: m.msg.offset }),
  ),
  WATCHDOG: domainEvent(
    "WATCHDOG",
    DomainEventId.WATCHDOG,
    321,
    nested(x.struct({ dom: domain, action: x.int })),
    (m): WatchdogEvent => ({ domain: m.msg.dom, action: m.msg.action }),
  ),
  DEVICE_REMOVED: domainEvent(
    "DEVICE_REMOVED",
    DomainEventId.DEVICE_REMOVED,
    333,
    nested(x.struct({ dom: domain, devAlias: nonnullString })),
    (m): DeviceAliasEvent => ({ domain: m.msg.dom, devAlias: m.msg.devAlias }),
  ),
  AGENT_LIFECYCLE: domainEvent(
    "AGENT_LIFECYCLE",
    DomainEventId.AGENT_LIFECYCLE,
    348,
    x.struct({ callbackID: x.int, dom: domain, state: x.int, reason: x.int }),
    (m): AgentLifecycleEvent => ({ domain: m.dom, state: m.state, reason: m.reason }),
  ),
  DEVICE_ADDED: domainEvent(
    "DEVICE_ADDED",
    DomainEventId.DEVICE_ADDED,
    354,
    x.struct({ callbackID: x.int, dom: domain, devAlias: nonnullString }),
    (m): DeviceAliasEvent => ({ domain: m.dom, devAlias: m.devAlias }),
  ),
} as const;

/**
 * virDomainGuestInfoTypes: what DOMAIN_GET_GUEST_INFO asks the guest agent for (0 = every type the daemon
 * knows). libvirt 9.0 knows USERS..INTERFACES; LOAD is 11.x.
 */
export const GuestInfoType = {
  USERS: 1 << 0,
  OS: 1 << 1,
  TIMEZONE: 1 << 2,
  HOSTNAME: 1 << 3,
  FILESYSTEM: 1 << 4,
  DISKS: 1 << 5,
  INTERFACES: 1 << 6,
} as const;

/** remote_auth_type. */
export const AuthType = { NONE: 0, SASL: 1, POLKIT: 2 } as const;

/** VIR_NODE_CPU_STATS_ALL_CPUS / VIR_NODE_MEMORY_STATS_ALL_CELLS: the whole host rather than one CPU or NUMA cell. */
export const NODE_STATS_ALL = -1;

/** VIR_CONNECT_RO for CONNECT_OPEN. */
export const CONNECT_RO = 1;

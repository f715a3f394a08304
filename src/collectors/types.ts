/**
 * The collector contract (node_exporter style): one concern per file, registered in registry.ts with a default
 * on/off. Two kinds read libvirt's bulk stats synchronously (domain and host collectors); async sources fetch
 * per domain on their own cadence (DomainSource, below). A domain collector turns one domain's bulk-stats record into its section of the DomainSample and
 * describes the metrics it exposes from that section; the framework (run.ts) times it and isolates failures per
 * collector and per domain, so one bad domain or one throwing collector never breaks the others.
 */
import type { Emit, MetricSpec } from "../metrics/catalog.ts";
import type { DomainMetadata, DomainSample, HostSample, NodeSample } from "../model/types.ts";
import type { DomainStatsRecord, NodeInfo } from "../protocol/libvirt/types.ts";
import type { StatsView } from "./params.ts";

export interface DomainInput {
  /** Typed access to this interval's bulk stats record for the domain. */
  stats: StatsView;
  /** The previous complete sample of the same domain (same UUID), the base for rates; undefined on first sight. */
  previous: DomainSample | undefined;
  /** Measured seconds since `previous` was taken; null without a previous sample. */
  elapsedSeconds: number | null;
  /** The QEMU process changed since `previous` (domain id changed): every counter restarted from zero. */
  restarted: boolean;
  /** Whether the domain is active (has a QEMU process) in this record. */
  active: boolean;
  /** Cached XML-derived metadata (refreshed on lifecycle events), if already fetched. */
  metadata: DomainMetadata | undefined;
  /** When the QEMU process started (epoch ms), if readable on this host. */
  processStartedAt: number | undefined;
  /** Host node info (CPU count for CPU %), if known. */
  node: NodeSample | null;
  /** When the stats were taken (epoch ms). */
  now: number;
}

export interface DomainCollector {
  kind: "domain";
  name: string;
  description: string;
  defaultEnabled: boolean;
  /** DomainStatsGroup bits this collector needs in the bulk stats call. */
  statsGroups: number;
  metrics: readonly MetricSpec[];
  /** Fills this collector's section of `out`; may throw (the framework isolates it). */
  collect(input: DomainInput, out: DomainSample): void;
  /** Emits this collector's metrics from a finished sample (domain/uuid labels are added by the caller). */
  expose(sample: DomainSample, emit: Emit): void;
}

/** The host calls a host collector may make; the agent passes them with its timeouts already applied. */
export interface HostQueries {
  hostname(): Promise<string>;
  nodeInfo(): Promise<NodeInfo>;
  /** libvirt library version, encoded major * 1e6 + minor * 1e3 + release. */
  libVersion(): Promise<number>;
  /** Hypervisor (QEMU) version, same encoding. */
  hypervisorVersion(): Promise<number>;
  /** virNodeGetCPUStats for all CPUs: field (kernel, user, idle, iowait on Linux) -> ns. */
  nodeCpuStats(): Promise<Map<string, bigint>>;
  /** virNodeGetMemoryStats for all cells: field (total, free, buffers, cached on Linux) -> KiB. */
  nodeMemoryStats(): Promise<Map<string, bigint>>;
}

export interface HostInput {
  queries: HostQueries;
  /** This interval's bulk stats reply (every domain, inactive ones included). */
  records: readonly DomainStatsRecord[];
  /** The previous HostSample of the same libvirt connection; undefined after a (re)connect. */
  previous: HostSample | undefined;
  now: number;
}

export interface HostCollector {
  kind: "host";
  name: string;
  description: string;
  defaultEnabled: boolean;
  statsGroups: number;
  metrics: readonly MetricSpec[];
  collect(input: HostInput, out: HostSample): Promise<void>;
  expose(host: HostSample, emit: Emit): void;
}

/** The domain an async source is asked about: its name and UUID address it, its id tells a restarted QEMU. */
export interface DomainTarget {
  name: string;
  uuid: string;
  /** Hypervisor id of the QEMU process the call was made for; a result for another id is dropped. */
  id: number;
  /** The agent's unix socket of a guest outside libvirt (config guest.sockets); absent for libvirt's domains. */
  socketPath?: string;
}

/**
 * The second kind of collector: asynchronous and per domain, for data the bulk stats call does not carry (the
 * guest agent, tracefs). Each source has its own cadence and per-call deadline; the agent's scheduler
 * (agent/async-sources.ts) runs at most one call per domain at a time, discards results that come after their
 * deadline or for a domain that vanished or restarted, backs off after consecutive failures, and merges the
 * current results into each snapshot without ever delaying the bulk collection.
 */
export interface DomainSource<T = unknown> {
  kind: "source";
  name: string;
  description: string;
  defaultEnabled: boolean;
  /** How often each active domain is asked. */
  intervalMs: number;
  /** Deadline of one call; `signal` is aborted when it passes (and on stop, or when the domain goes). */
  timeoutMs: number;
  /** Longest wait after consecutive failures (the wait doubles from `intervalMs` per failure up to this). */
  maxBackoffMs: number;
  metrics: readonly MetricSpec[];
  /** One call for one domain; must honour `signal` (a call that ignores it keeps its domain's slot busy). */
  fetch(domain: DomainTarget, signal: AbortSignal): Promise<T>;
  /** Whether this source asks about `domain` at all (every domain when absent). */
  accepts?(domain: DomainTarget): boolean;
  /** Puts a current result into its section of a sample (`guest` or `trace`); `fetchedAt` in epoch ms. */
  merge(result: T, fetchedAt: number, out: DomainSample): void;
  /** Emits this source's metrics from a finished sample (domain/uuid labels are added by the caller). */
  expose(sample: DomainSample, emit: Emit): void;
}

export type Collector = DomainCollector | HostCollector | DomainSource;

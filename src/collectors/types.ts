/**
 * The collector contract (node_exporter style): one concern per file, registered in registry.ts with a default
 * on/off. A domain collector turns one domain's bulk-stats record into its section of the DomainSample and
 * describes the metrics it exposes from that section; the framework (run.ts) times it and isolates failures per
 * collector and per domain, so one bad domain or one throwing collector never breaks the others.
 */
import type { CounterValue, DomainMetadata, DomainSample, HostSample, NodeSample } from "../model/types.ts";
import type { DomainStatsRecord, NodeInfo } from "../protocol/libvirt/types.ts";
import type { StatsView } from "./params.ts";

export type MetricType = "gauge" | "counter";

/** One metric family: what /metrics prints in HELP/TYPE and what docs/agent.md lists. */
export interface MetricSpec {
  name: string;
  type: MetricType;
  help: string;
  /** Labels besides `domain` and `uuid` (added to every domain metric by the framework). */
  labels: readonly string[];
  /** Where the value comes from (bulk stat field, XML element, computation), for the docs. */
  source: string;
}

/** Emits one sample of a family declared in the collector's `metrics`; labels in the order of `spec.labels`. */
export type Emit = (spec: MetricSpec, value: number, labelValues?: readonly string[]) => void;

/** A sample field that may be missing (null when libvirt did not report it): a gauge value or a counter. */
export type Reading = number | CounterValue | null | undefined;

/**
 * `emit` for fields that may be missing: emits a gauge's value or a counter's total, and nothing for null or
 * undefined, so an unreported field is an absent series rather than a false 0.
 */
export function emitPresent(
  emit: Emit,
): (spec: MetricSpec, value: Reading, labelValues?: readonly string[]) => void {
  return (spec, value, labelValues) => {
    if (value === null || value === undefined) return;
    emit(spec, typeof value === "number" ? value : value.total, labelValues);
  };
}

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

export type Collector = DomainCollector | HostCollector;

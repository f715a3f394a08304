/**
 * Builds one domain's DomainSample from its bulk-stats record: works out the measured elapsed time and whether
 * the QEMU process restarted since the previous sample, then lets every enabled domain collector fill its
 * section (run.ts isolates them). Pure: no I/O, the caller supplies previous sample, metadata and clock.
 */
import { isActiveState, stateName, zeroStateCounts } from "../model/state.ts";
import type { DomainMetadata, DomainSample, HostSample, NodeSample, StatsFreshness } from "../model/types.ts";
import type { DomainStatsRecord } from "../protocol/libvirt/types.ts";
import { StatsView } from "./params.ts";
import type { DomainJob } from "./run.ts";

export interface SampleContext {
  /** The previous complete sample of this domain (same UUID), if any. */
  previous: DomainSample | undefined;
  metadata: DomainMetadata | undefined;
  processStartedAt: number | undefined;
  node: NodeSample | null;
  /** When the bulk stats call returned (epoch ms). */
  now: number;
  stats: StatsFreshness;
}

/** A host sample with nothing known yet (the host collectors fill it). */
export function emptyHostSample(): HostSample {
  return {
    hostname: null,
    libvirtVersion: null,
    hypervisorVersion: null,
    node: null,
    infoFetchedAt: null,
    domainsByState: zeroStateCounts(),
    domainsTotal: 0,
    usage: null,
  };
}

/** A sample with every section null (collectors, or the async sources for a socket guest, fill them). */
export function emptySample(
  domain: { name: string; uuid: string; id: number },
  now: number,
  stats: StatsFreshness,
): DomainSample {
  const { name, uuid, id } = domain;
  return {
    name,
    uuid,
    id,
    sampledAt: now,
    elapsedSeconds: null,
    stats,
    state: null,
    cpu: null,
    vcpus: null,
    memory: null,
    block: null,
    interfaces: null,
    kvm: null,
    metadata: null,
    guest: null,
    trace: null,
  };
}

/** The job for run.ts: the collectors' input and the sample they fill. */
export function domainJob(record: DomainStatsRecord, ctx: SampleContext): DomainJob {
  const stats = new StatsView(record);
  const prev = ctx.previous;
  const code = stats.num("state.state");
  const active = code !== undefined ? isActiveState(stateName(code)) : record.domain.id !== -1;
  const elapsedSeconds = prev ? (ctx.now - prev.sampledAt) / 1000 : null;
  // A new hypervisor id means a new QEMU process: its counters started again from zero.
  const restarted = prev !== undefined && prev.id !== record.domain.id;
  const out = emptySample(record.domain, ctx.now, ctx.stats);
  out.elapsedSeconds = elapsedSeconds !== null && elapsedSeconds > 0 ? elapsedSeconds : null;
  return {
    out,
    input: {
      stats,
      previous: prev,
      elapsedSeconds: out.elapsedSeconds,
      restarted,
      active,
      metadata: ctx.metadata,
      processStartedAt: ctx.processStartedAt,
      node: ctx.node,
      now: ctx.now,
    },
  };
}

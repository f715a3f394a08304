/**
 * The one place collectors and async sources are registered. Adding one: write its file (and test), add it
 * here, add its metrics to docs/agent.md (a test checks the docs list every registered metric).
 */
import { blockCollector } from "./block.ts";
import { cpuCollector } from "./cpu.ts";
import { hostCollector } from "./host.ts";
import { hostUsageCollector } from "./host-usage.ts";
import { interfaceCollector } from "./interface.ts";
import { kvmCollector } from "./kvm.ts";
import { memoryCollector } from "./memory.ts";
import { metadataCollector } from "./metadata.ts";
import { UnknownCollectorError } from "./errors.ts";
import { stateCollector } from "./state.ts";
import type { Collector } from "./types.ts";
import { vcpuCollector } from "./vcpu.ts";

/** In exposition order (the order of metric families on /metrics and of sections in the docs). */
export const collectors: readonly Collector[] = [
  stateCollector,
  cpuCollector,
  vcpuCollector,
  memoryCollector,
  blockCollector,
  interfaceCollector,
  kvmCollector,
  metadataCollector,
  hostCollector,
  hostUsageCollector,
];

export const collectorNames: readonly string[] = collectors.map((c) => c.name);

export function defaultCollectorNames(): string[] {
  return collectors.filter((c) => c.defaultEnabled).map((c) => c.name);
}

/** The registered collectors with these names, in registry order; unknown names throw (config validates first). */
export function selectCollectors(names: readonly string[]): Collector[] {
  for (const n of names) {
    if (!collectorNames.includes(n)) throw new UnknownCollectorError(n, collectorNames);
  }
  return collectors.filter((c) => names.includes(c.name));
}

/** The DomainStatsGroup bits the bulk stats call must request for these collectors. */
export function statsGroupsFor(list: readonly Collector[]): number {
  // STATE is always needed: it tells active from inactive domains and feeds the domain counts.
  return list.reduce((bits, c) => (c.kind === "source" ? bits : bits | c.statsGroups), 1);
}

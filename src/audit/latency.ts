/**
 * Average read/write/flush latency per disk over a short window: two bulk stats records (group BLOCK) taken
 * `window` apart, turned into samples by the agent's own block collector (Δ block.N.rd.times / Δ
 * block.N.rd.reqs, the same for wr and fl), so `audit` and `/metrics` compute latency one way.
 */
import { blockCollector } from "../collectors/block.ts";
import { domainJob } from "../collectors/sample.ts";
import type { DomainStatsRecord } from "../protocol/libvirt/index.ts";
import type { StatsFreshness } from "../model/types.ts";
import type { DiskLatency } from "./types.ts";

const FRESH: StatsFreshness = { status: "ok", skippedTotal: 0, lastCompleteAt: null };

/** Latency per disk target between two records of the same domain taken at `firstAt` and `secondAt` (ms). */
export function diskLatencies(
  first: { record: DomainStatsRecord; at: number },
  second: { record: DomainStatsRecord; at: number },
): Map<string, DiskLatency> {
  const context = { previous: undefined, metadata: undefined, processStartedAt: undefined, node: null };
  const a = domainJob(first.record, { ...context, now: first.at, stats: FRESH });
  blockCollector.collect(a.input, a.out);
  const b = domainJob(second.record, { ...context, previous: a.out, now: second.at, stats: FRESH });
  blockCollector.collect(b.input, b.out);
  const out = new Map<string, DiskLatency>();
  const windowSeconds = (second.at - first.at) / 1000;
  // Requests in the window as the collector counts them (a restarted QEMU's counters count from zero).
  const inWindow = (v: { perSecond: number | null } | null) =>
    Math.round((v?.perSecond ?? 0) * windowSeconds);
  for (const d of b.out.block ?? []) {
    out.set(d.name, {
      windowSeconds,
      read: d.readLatencySeconds,
      write: d.writeLatencySeconds,
      flush: d.flushLatencySeconds,
      readRequests: inWindow(d.readRequests),
      writeRequests: inWindow(d.writeRequests),
      flushRequests: inWindow(d.flushRequests),
    });
  }
  return out;
}

/**
 * The agent's metrics about itself and about each domain's freshness: per-collector duration and success
 * (node_exporter's scrape_collector_*), the per-domain "stats skipped" marker, and the libvirt connection.
 */
import type { Emit, MetricSpec } from "../collectors/types.ts";
import type { Snapshot } from "../model/types.ts";
import type { AgentStatus } from "./agent.ts";
import type { ConnectionStatus } from "./source.ts";

const spec = (
  name: string,
  type: "gauge" | "counter",
  help: string,
  labels: string[],
  source: string,
): MetricSpec => ({
  name,
  type,
  help,
  labels,
  source,
});

export const selfMetrics = {
  collectorDuration: spec(
    "kvmon_collector_duration_seconds",
    "gauge",
    "Time the collector took in the last collection, over all domains.",
    ["collector"],
    "agent",
  ),
  collectorSuccess: spec(
    "kvmon_collector_success",
    "gauge",
    "1 if the collector succeeded for every domain in the last collection, else 0.",
    ["collector"],
    "agent",
  ),
  collectorFailedDomains: spec(
    "kvmon_collector_failed_domains",
    "gauge",
    "Domains for which the collector failed in the last collection (the others were still collected).",
    ["collector"],
    "agent",
  ),
  skipped: spec(
    "kvmon_domain_stats_skipped",
    "gauge",
    "1 if the last collection got the domain's stats only partially (reason=partial: job lock held, NOWAIT) or not at all (reason=missing: timed out or absent from the reply), else 0.",
    ["reason"],
    "agent: NOWAIT partial record / absent from the bulk stats reply",
  ),
  skippedTotal: spec(
    "kvmon_domain_stats_skipped_total",
    "counter",
    "Collections in which the domain's stats were partial or missing, since the agent started.",
    [],
    "agent",
  ),
  lastComplete: spec(
    "kvmon_domain_stats_timestamp_seconds",
    "gauge",
    "When the last complete stats record of the domain was taken.",
    [],
    "agent",
  ),
  up: spec(
    "kvmon_libvirt_up",
    "gauge",
    "1 while the agent's libvirt connection is up, else 0.",
    [],
    "agent: connection state",
  ),
  connections: spec(
    "kvmon_libvirt_connections_total",
    "counter",
    "libvirt connections established (1 + reconnects).",
    [],
    "agent: connection state",
  ),
  collections: spec("kvmon_collections_total", "counter", "Collections attempted.", [], "agent"),
  failedCollections: spec(
    "kvmon_collection_failures_total",
    "counter",
    "Collections whose bulk stats call failed (timeout, disconnected, libvirt error).",
    [],
    "agent",
  ),
  skippedIntervals: spec(
    "kvmon_collection_overruns_total",
    "counter",
    "Intervals skipped because the previous collection was still running.",
    [],
    "agent",
  ),
  duration: spec(
    "kvmon_collection_duration_seconds",
    "gauge",
    "Duration of the last collection (bulk stats call + collectors).",
    [],
    "agent",
  ),
  statsCall: spec(
    "kvmon_stats_call_duration_seconds",
    "gauge",
    "Duration of the last bulk stats call.",
    [],
    "agent",
  ),
  delay: spec(
    "kvmon_collection_delay_seconds",
    "gauge",
    "How late the last collection started after its scheduled time (the event loop was busy or stalled).",
    [],
    "agent: scheduler timer",
  ),
  lastSuccess: spec(
    "kvmon_collection_timestamp_seconds",
    "gauge",
    "When the last successful collection finished.",
    [],
    "agent",
  ),
};

export function exposeCollectorRuns(snap: Snapshot, emit: Emit): void {
  for (const r of snap.collectors) {
    emit(selfMetrics.collectorDuration, r.durationSeconds, [r.name]);
    emit(selfMetrics.collectorSuccess, r.success ? 1 : 0, [r.name]);
    emit(selfMetrics.collectorFailedDomains, r.failedDomains, [r.name]);
  }
}

export function exposeAgent(
  status: AgentStatus,
  conn: ConnectionStatus,
  snap: Snapshot | null,
  emit: Emit,
): void {
  const m = selfMetrics;
  emit(m.up, conn.connected ? 1 : 0);
  emit(m.connections, conn.generation);
  emit(m.collections, status.collections);
  emit(m.failedCollections, status.failedCollections);
  emit(m.skippedIntervals, status.skippedIntervals);
  if (snap) emit(m.duration, (snap.finishedAt - snap.startedAt) / 1000);
  if (status.lastStatsCallSeconds !== null) emit(m.statsCall, status.lastStatsCallSeconds);
  if (status.lastDelaySeconds !== null) emit(m.delay, status.lastDelaySeconds);
  if (status.lastSuccessAt !== null) emit(m.lastSuccess, status.lastSuccessAt / 1000);
}

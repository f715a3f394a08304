/**
 * The agent's metrics about itself and about each domain's freshness: per-collector duration and success
 * (node_exporter's scrape_collector_*), the per-domain "stats skipped" marker, and the libvirt connection.
 */
import { counter, type Emit, gauge } from "../metrics/catalog.ts";
import type { Snapshot } from "../model/types.ts";
import type { AgentStatus } from "./agent.ts";
import type { ConnectionStatus } from "./source.ts";

export const selfMetrics = {
  collectorDuration: gauge(
    "kvmon_collector_duration_seconds",
    "Time the collector took in the last collection, over all domains.",
    { labels: ["collector"], source: "agent" },
  ),
  collectorSuccess: gauge(
    "kvmon_collector_success",
    "1 if the collector succeeded for every domain in the last collection, else 0.",
    { labels: ["collector"], source: "agent" },
  ),
  collectorFailedDomains: gauge(
    "kvmon_collector_failed_domains",
    "Domains for which the collector failed in the last collection (the others were still collected).",
    { labels: ["collector"], source: "agent" },
  ),
  skipped: gauge(
    "kvmon_domain_stats_skipped",
    "1 if the last collection got the domain's stats only partially (reason=partial: job lock held, NOWAIT) or not at all (reason=missing: timed out or absent from the reply), else 0.",
    { labels: ["reason"], source: "agent: NOWAIT partial record / absent from the bulk stats reply" },
  ),
  skippedTotal: counter(
    "kvmon_domain_stats_skipped_total",
    "Collections in which the domain's stats were partial or missing, since the agent started.",
    { source: "agent" },
  ),
  lastComplete: gauge(
    "kvmon_domain_stats_timestamp_seconds",
    "When the last complete stats record of the domain was taken.",
    { source: "agent" },
  ),
  up: gauge("kvmon_libvirt_up", "1 while the agent's libvirt connection is up, else 0.", {
    source: "agent: connection state",
  }),
  connections: counter(
    "kvmon_libvirt_connections_total",
    "libvirt connections established (1 + reconnects).",
    { source: "agent: connection state" },
  ),
  collections: counter("kvmon_collections_total", "Collections attempted.", { source: "agent" }),
  failedCollections: counter(
    "kvmon_collection_failures_total",
    "Collections whose bulk stats call failed (timeout, disconnected, libvirt error).",
    { source: "agent" },
  ),
  skippedIntervals: counter(
    "kvmon_collection_overruns_total",
    "Intervals skipped because the previous collection was still running.",
    { source: "agent" },
  ),
  duration: gauge(
    "kvmon_collection_duration_seconds",
    "Duration of the last collection (bulk stats call + collectors).",
    { source: "agent" },
  ),
  statsCall: gauge("kvmon_stats_call_duration_seconds", "Duration of the last bulk stats call.", {
    source: "agent",
  }),
  delay: gauge(
    "kvmon_collection_delay_seconds",
    "How late the last collection started after its scheduled time (the event loop was busy or stalled).",
    { source: "agent: scheduler timer" },
  ),
  lastSuccess: gauge("kvmon_collection_timestamp_seconds", "When the last successful collection finished.", {
    source: "agent",
  }),
  sourceCalls: counter("kvmon_source_calls_total", "Calls the async source started, over all domains.", {
    labels: ["source"],
    source: "agent: async source scheduler",
  }),
  sourceFailures: counter(
    "kvmon_source_failures_total",
    "Calls of the async source that failed or missed their deadline.",
    { labels: ["source"], source: "agent: async source scheduler" },
  ),
  sourceTimeouts: counter(
    "kvmon_source_timeouts_total",
    "Calls of the async source that missed their deadline (also counted as failures).",
    { labels: ["source"], source: "agent: async source scheduler" },
  ),
  sourceLateDiscards: counter(
    "kvmon_source_late_discards_total",
    "Results of the async source dropped because they came after their deadline or for a domain that vanished or restarted.",
    { labels: ["source"], source: "agent: async source scheduler" },
  ),
  sourceInFlight: gauge(
    "kvmon_source_in_flight",
    "Calls of the async source running when the snapshot was taken (at most one per domain).",
    { labels: ["source"], source: "agent: async source scheduler" },
  ),
  sourceBackingOff: gauge(
    "kvmon_source_backoff_domains",
    "Domains the async source waits out a back-off for after consecutive failures.",
    { labels: ["source"], source: "agent: async source scheduler" },
  ),
  sourceLastSuccess: gauge(
    "kvmon_source_last_success_timestamp_seconds",
    "When a call of the async source last succeeded, for any domain.",
    { labels: ["source"], source: "agent: async source scheduler" },
  ),
};

export function exposeCollectorRuns(snap: Snapshot, emit: Emit): void {
  for (const r of snap.collectors) {
    emit(selfMetrics.collectorDuration, r.durationSeconds, [r.name]);
    emit(selfMetrics.collectorSuccess, r.success ? 1 : 0, [r.name]);
    emit(selfMetrics.collectorFailedDomains, r.failedDomains, [r.name]);
  }
}

export function exposeSources(snap: Snapshot, emit: Emit): void {
  const m = selfMetrics;
  for (const s of snap.sources) {
    const l = [s.name];
    emit(m.sourceCalls, s.calls, l);
    emit(m.sourceFailures, s.failures, l);
    emit(m.sourceTimeouts, s.timeouts, l);
    emit(m.sourceLateDiscards, s.lateDiscards, l);
    emit(m.sourceInFlight, s.inFlight, l);
    emit(m.sourceBackingOff, s.backingOff, l);
    if (s.lastSuccessAt !== null) emit(m.sourceLastSuccess, s.lastSuccessAt / 1000, l);
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

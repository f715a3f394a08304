/** The push path's own metrics, one series per target (its `target` label: the target's name). */
import { counter, type Emit, gauge } from "../../metrics/catalog.ts";
import type { SenderStats } from "../../protocol/remote-write/sender.ts";

const SOURCE = "agent: push sender and spool (src/agent/push)";

export const pushMetrics = {
  spoolBytes: gauge("kvmon_push_spool_bytes", "Bytes of batches queued in the target's on-disk spool.", {
    labels: ["target"],
    source: SOURCE,
  }),
  spoolBatches: gauge(
    "kvmon_push_spool_batches",
    "Batches queued in the target's on-disk spool, not yet taken.",
    {
      labels: ["target"],
      source: SOURCE,
    },
  ),
  dropped: counter(
    "kvmon_push_dropped_batches_total",
    "Batches given up: reason=spool_full (the oldest, when the spool's byte bound was hit), spool_error (the spool could not be written), encode_error (a bug: the snapshot could not be encoded) or rejected (the target answered 4xx other than 429).",
    { labels: ["target", "reason"], source: SOURCE },
  ),
  sentSamples: counter("kvmon_push_sent_samples_total", "Samples the target acknowledged (2xx).", {
    labels: ["target"],
    source: SOURCE,
  }),
  sentBatches: counter("kvmon_push_sent_batches_total", "Batches the target acknowledged (2xx).", {
    labels: ["target"],
    source: SOURCE,
  }),
  failures: counter(
    "kvmon_push_failures_total",
    "Failed send attempts by reason: network, timeout, http_5xx, http_429 (all retried) and http_4xx (dropped).",
    { labels: ["target", "reason"], source: SOURCE },
  ),
  lastSuccess: gauge(
    "kvmon_push_last_success_timestamp_seconds",
    "When the target last acknowledged a batch.",
    { labels: ["target"], source: SOURCE },
  ),
};

/** One target's push metrics: its sender's counters and its spool's depth. */
export function exposePushStats(
  target: string,
  stats: SenderStats,
  spool: { bytes: number; batches: number },
  emit: Emit,
): void {
  const m = pushMetrics;
  emit(m.spoolBytes, spool.bytes, [target]);
  emit(m.spoolBatches, spool.batches, [target]);
  for (const r of ["spool_full", "spool_error", "encode_error", "rejected"] as const)
    emit(m.dropped, stats.dropped.get(r) ?? 0, [target, r]);
  emit(m.sentSamples, stats.sentSamples, [target]);
  emit(m.sentBatches, stats.sentBatches, [target]);
  for (const [r, n] of stats.failures) emit(m.failures, n, [target, r]);
  if (stats.lastSuccessAt !== null) emit(m.lastSuccess, stats.lastSuccessAt / 1000, [target]);
}

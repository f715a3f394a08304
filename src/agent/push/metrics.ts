/** The push path's own metrics, one series per target (its `target` label: the target's name). */
import { counter, type Emit, gauge } from "../../metrics/catalog.ts";

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

export type FailureReason = "network" | "timeout" | "http_5xx" | "http_429" | "http_4xx";
export type DropReason = "spool_full" | "spool_error" | "encode_error" | "rejected";

/** One target's counters; the spool gauges are read from the spool itself. */
export class PushStats {
  sentSamples = 0;
  sentBatches = 0;
  lastSuccessAt: number | null = null;
  readonly failures = new Map<FailureReason, number>();
  readonly dropped = new Map<DropReason, number>();

  fail(reason: FailureReason): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }

  drop(reason: DropReason, n = 1): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }

  expose(target: string, spool: { bytes: number; batches: number }, emit: Emit): void {
    const m = pushMetrics;
    emit(m.spoolBytes, spool.bytes, [target]);
    emit(m.spoolBatches, spool.batches, [target]);
    for (const r of ["spool_full", "spool_error", "encode_error", "rejected"] as const)
      emit(m.dropped, this.dropped.get(r) ?? 0, [target, r]);
    emit(m.sentSamples, this.sentSamples, [target]);
    emit(m.sentBatches, this.sentBatches, [target]);
    for (const [r, n] of this.failures) emit(m.failures, n, [target, r]);
    if (this.lastSuccessAt !== null) emit(m.lastSuccess, this.lastSuccessAt / 1000, [target]);
  }
}

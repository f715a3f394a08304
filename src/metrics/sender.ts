/**
 * The families of a remote_write sender and its spool (src/protocol/remote-write), one series per target: the
 * agent's push targets (`kvmon_push_*`) and the server's forward targets (`kvmon_server_forward_*`) declare them
 * with their own prefix and expose them the same way.
 */
import { counter, type Emit, gauge, type MetricSpec } from "./catalog.ts";

/** A sender's counters (the shape of the protocol's SenderStats, which this layer may not import). */
export interface SenderCounts {
  readonly sentSamples: number;
  readonly sentBatches: number;
  readonly lastSuccessAt: number | null;
  readonly failures: ReadonlyMap<string, number>;
  readonly dropped: ReadonlyMap<string, number>;
}

/** Drop reasons shown even at zero, so a rate over them exists before the first drop. */
const DROP_REASONS = ["spool_full", "spool_error", "encode_error", "rejected"] as const;

export type SenderFamilies = Record<
  "spoolBytes" | "spoolBatches" | "dropped" | "sentSamples" | "sentBatches" | "failures" | "lastSuccess",
  MetricSpec
>;

/** The families named `<prefix>_spool_bytes`, `<prefix>_sent_samples_total`, ...; `source` for the docs. */
export function senderFamilies(prefix: string, source: string): SenderFamilies {
  const target = { labels: ["target"], source };
  return {
    spoolBytes: gauge(
      `${prefix}_spool_bytes`,
      "Bytes of batches queued in the target's on-disk spool.",
      target,
    ),
    spoolBatches: gauge(
      `${prefix}_spool_batches`,
      "Batches queued in the target's on-disk spool, not yet taken.",
      target,
    ),
    dropped: counter(
      `${prefix}_dropped_batches_total`,
      "Batches given up: reason=spool_full (the oldest, when the spool's byte bound was hit), spool_error (the spool could not be written), encode_error (a bug: the batch could not be encoded) or rejected (the target answered 4xx other than 429).",
      { labels: ["target", "reason"], source },
    ),
    sentSamples: counter(`${prefix}_sent_samples_total`, "Samples the target acknowledged (2xx).", target),
    sentBatches: counter(`${prefix}_sent_batches_total`, "Batches the target acknowledged (2xx).", target),
    failures: counter(
      `${prefix}_failures_total`,
      "Failed send attempts by reason: network, timeout, http_5xx, http_429 (all retried) and http_4xx (dropped).",
      { labels: ["target", "reason"], source },
    ),
    lastSuccess: gauge(
      `${prefix}_last_success_timestamp_seconds`,
      "When the target last acknowledged a batch.",
      target,
    ),
  };
}

/** One target's series: its sender's counters and its spool's depth. */
export function exposeSender(
  m: SenderFamilies,
  target: string,
  stats: SenderCounts,
  spool: { bytes: number; batches: number },
  emit: Emit,
): void {
  emit(m.spoolBytes, spool.bytes, [target]);
  emit(m.spoolBatches, spool.batches, [target]);
  for (const r of DROP_REASONS) emit(m.dropped, stats.dropped.get(r) ?? 0, [target, r]);
  emit(m.sentSamples, stats.sentSamples, [target]);
  emit(m.sentBatches, stats.sentBatches, [target]);
  for (const [r, n] of stats.failures) emit(m.failures, n, [target, r]);
  if (stats.lastSuccessAt !== null) emit(m.lastSuccess, stats.lastSuccessAt / 1000, [target]);
}

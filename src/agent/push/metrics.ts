/** The push path's own metrics, one series per target (its `target` label: the target's name). */
import type { Emit } from "../../metrics/catalog.ts";
import { exposeSender, senderFamilies } from "../../metrics/sender.ts";
import type { SenderStats } from "../../protocol/remote-write/sender.ts";

export const pushMetrics = senderFamilies("kvmon_push", "agent: push sender and spool (src/agent/push)");

/** One target's push metrics: its sender's counters and its spool's depth. */
export function exposePushStats(
  target: string,
  stats: SenderStats,
  spool: { bytes: number; batches: number },
  emit: Emit,
): void {
  exposeSender(pushMetrics, target, stats, spool, emit);
}

/**
 * Rates from cumulative counters. Every rate divides by the MEASURED seconds between the two samples (never the
 * configured interval: a late or skipped interval would otherwise inflate the rate, as in collectd's cpu_util).
 *
 * A counter that goes down, or any counter of a domain whose QEMU process restarted, is treated as a reset, the
 * way Prometheus treats counter resets: the counter restarted from zero inside the window, so the increase is at
 * least the current value. The rate is then current / elapsed: never negative, never huge.
 */
import type { CounterValue } from "./types.ts";

/**
 * Rate per second of a counter between two samples, or null when it cannot be known.
 * @example counterRate(100, 300, 2) // 100
 * @example counterRate(500, 20, 2) // 10: the counter was reset, so only the 20 since the reset count
 */
export function counterRate(
  previous: number | null | undefined,
  current: number,
  elapsedSeconds: number | null,
  reset = false,
): number | null {
  if (previous === null || previous === undefined) return null;
  if (elapsedSeconds === null || !(elapsedSeconds > 0)) return null;
  if (!Number.isFinite(current) || !Number.isFinite(previous)) return null;
  const increase = reset || current < previous ? current : current - previous;
  return increase / elapsedSeconds;
}

/** A CounterValue from the current total and the previous sample's (if any). */
export function counterValue(
  current: number,
  previous: CounterValue | null | undefined,
  elapsedSeconds: number | null,
  reset = false,
): CounterValue {
  return { total: current, perSecond: counterRate(previous?.total, current, elapsedSeconds, reset) };
}

/**
 * Average per event over the window, e.g. block latency = Δtime / Δrequests. Null when no event happened in the
 * window (0/0 is "no data", not zero latency) or when either counter was reset.
 * @example averagePerEvent({total: 3, perSecond: 1}, {total: 30, perSecond: 10}) // 0.1
 */
export function averagePerEvent(
  time: CounterValue | null | undefined,
  events: CounterValue | null | undefined,
): number | null {
  if (!time || !events || time.perSecond === null || events.perSecond === null) return null;
  if (events.perSecond <= 0) return null;
  return time.perSecond / events.perSecond;
}

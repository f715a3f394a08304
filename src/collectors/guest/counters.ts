/** In-guest cumulative counters as CounterValues, rates over the measured time between two reads of the same guest. */
import { counterValue } from "../../model/rate.ts";
import type { CounterValue } from "../../model/types.ts";
import { guestCount } from "./limits.ts";

/** The previous read's totals of one guest list (per disk or interface name), and when it was taken. */
export interface PreviousTotals {
  at: number;
  totals: Map<string, CounterValue | null>;
}

export function guestCounter(
  v: bigint | number | undefined,
  what: string,
  key: string,
  prev: PreviousTotals | undefined,
  now: number,
  next: Map<string, CounterValue | null>,
): CounterValue | null {
  const c =
    v === undefined
      ? null
      : counterValue(guestCount(v, what), prev?.totals.get(key), prev ? (now - prev.at) / 1000 : null);
  next.set(key, c);
  return c;
}

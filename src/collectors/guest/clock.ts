/**
 * Clock drift: guest time (guest-get-time, ns since the epoch) minus host time at the middle of the call, so
 * the call's round trip counts at most half for either side.
 */
import type { GuestClock } from "../../model/types.ts";
import { QgaCommands } from "../../protocol/qga/index.ts";
import type { GuestCall } from "./call.ts";
import { GuestDataError } from "./limits.ts";

export async function readClock(g: GuestCall, hostNow: () => number = Date.now): Promise<GuestClock | null> {
  if (!g.has("guest-get-time")) return null;
  const before = hostNow();
  const ns = await g.qga.call(QgaCommands.time, undefined, { timeoutMs: g.timeoutMs });
  const after = hostNow();
  const guestMs = Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
  if (!(guestMs > 0 && guestMs < 1e14)) throw new GuestDataError(`guest-get-time ${ns} out of range`);
  return { driftSeconds: (guestMs - (before + after) / 2) / 1000 };
}

/**
 * Guests are untrusted: a tenant controls every byte its agent says. These caps bound what one guest can make
 * kvmon hold and expose, whatever it answers (the qga client already caps reply lines at 10 MiB and lists at
 * 4096 items; these are the guest view's own, tighter caps on what it keeps).
 */
import { KvmonError } from "../../shared/errors.ts";

export const GuestLimits = {
  filesystems: 256,
  interfaces: 64,
  addressesPerInterface: 32,
  users: 64,
  disks: 64,
  /** Disks listed under one filesystem. */
  disksPerFilesystem: 16,
  /** Characters of a guest-supplied string kept (names, mountpoints, versions). */
  stringLength: 256,
  /** Series of guest-labelled families (per filesystem, interface, address, disk, user) per guest. */
  labelledSeriesPerGuest: 2000,
  /** Bytes of a /proc file read through guest-file-read. */
  procFileBytes: 64 * 1024,
  /**
   * Bytes of one agent reply, checked before it is parsed: parsing holds the event loop (every guest, the host
   * metrics) for about 30 ms per MB here, so a reply at the client's 10 MiB cap would cost a third of a second.
   * The largest legitimate reply (4096 filesystems) is under 1 MiB.
   */
  replyBytes: 1024 * 1024,
} as const;

/** A guest answered something the guest view cannot use (wrong type, out of range): an error of that guest only. */
export class GuestDataError extends KvmonError {
  override name = "GuestDataError";
  constructor(message: string) {
    super("GUEST_DATA_INVALID", message);
  }
}

const CONTROL_OR_LONE_SURROGATE =
  /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A guest string made safe to keep and to use as a label value: control characters (newlines included) and
 * unpaired surrogates replaced, cut to GuestLimits.stringLength. Quotes and backslashes stay: the exposition
 * writer escapes them, and JSON encodes them.
 */
export function boundText(s: string): string {
  const clean = s.replace(CONTROL_OR_LONE_SURROGATE, "\ufffd");
  if (clean.length <= GuestLimits.stringLength) return clean;
  // Never cut between the two halves of a surrogate pair.
  const end = /[\ud800-\udbff]/.test(clean[GuestLimits.stringLength - 1]!)
    ? GuestLimits.stringLength - 1
    : GuestLimits.stringLength;
  return clean.slice(0, end);
}

/** The first `max` items; the list's name goes into `truncated` when it was longer. */
export function capList<T>(items: readonly T[], max: number, name: string, truncated: Set<string>): T[] {
  if (items.length <= max) return [...items];
  truncated.add(name);
  return items.slice(0, max);
}

/** A guest counter or size (bigint or number) as a JS number; negative or beyond 2^64 is a GuestDataError. */
export function guestCount(v: bigint | number, what: string): number {
  const n = typeof v === "bigint" ? v : Number.isFinite(v) ? v : Number.NaN;
  if (typeof n === "number" ? !(n >= 0) : n < 0n || n >= 1n << 64n)
    throw new GuestDataError(`${what}: ${String(v)} is not a count`);
  return Number(n);
}

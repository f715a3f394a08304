/**
 * What each reader of the guest view gets: the agent client, the commands the guest's agent lists (only those
 * are called), the channel's bulk guest-info call when it has one (libvirt), the per-call deadline, and the
 * set that records which lists were cut at their cap.
 */
import type { QgaClient } from "../../protocol/qga/index.ts";
import type { TypedParamValue } from "../../protocol/libvirt/index.ts";

export interface GuestCall {
  qga: QgaClient;
  /** Whether the guest's agent lists (and has enabled) this command. */
  has(command: string): boolean;
  /** DOMAIN_GET_GUEST_INFO for these GuestInfoType bits; absent on a direct socket channel. */
  guestInfo?: (types: number) => Promise<Map<string, TypedParamValue>>;
  timeoutMs: number;
  truncated: Set<string>;
}

/** Reads a small /proc file of the guest through guest-file-open/read/close, if the agent has those commands. */
export async function readProcFile(g: GuestCall, path: string, maxBytes: number): Promise<string | null> {
  if (!g.has("guest-file-open") || !g.has("guest-file-read") || !g.has("guest-file-close")) return null;
  return (await g.qga.readFile(path, { maxBytes })).toString("utf8");
}

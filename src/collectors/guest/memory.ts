/** In-guest memory from /proc/meminfo, read through the guest-file commands: the agent has no memory command. */
import type { GuestMemory } from "../../model/types.ts";
import { type GuestCall, readProcFile } from "./call.ts";
import { GuestDataError } from "./limits.ts";

export async function readMemory(g: GuestCall): Promise<GuestMemory | null> {
  const text = await readProcFile(g, "/proc/meminfo", 64 * 1024);
  return text === null ? null : parseMeminfo(text);
}

/** "MemTotal:  1014512 kB" lines to bytes; MemTotal is required. */
export function parseMeminfo(text: string): GuestMemory {
  const kb = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\w+):\s+(\d{1,15}) kB$/.exec(line.trim());
    if (m) kb.set(m[1]!, Number(m[2]) * 1024);
  }
  const total = kb.get("MemTotal");
  if (total === undefined) throw new GuestDataError("/proc/meminfo: no MemTotal");
  const get = (k: string) => kb.get(k) ?? null;
  return {
    totalBytes: total,
    availableBytes: get("MemAvailable"),
    freeBytes: get("MemFree"),
    cachedBytes: get("Cached"),
    buffersBytes: get("Buffers"),
    swapTotalBytes: get("SwapTotal"),
    swapFreeBytes: get("SwapFree"),
  };
}

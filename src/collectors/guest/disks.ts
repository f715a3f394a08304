/** In-guest disk I/O counters (guest-get-diskstats, qemu-ga 7.1+, Linux) as rates; sectors are 512 bytes. */
import type { GuestDisk } from "../../model/types.ts";
import { QgaCommands } from "../../protocol/qga/index.ts";
import type { GuestCall } from "./call.ts";
import { guestCounter, type PreviousTotals } from "./counters.ts";
import { boundText, capList, GuestLimits } from "./limits.ts";

const SECTOR = 512n;

export async function readDisks(
  g: GuestCall,
  prev: PreviousTotals | undefined,
  now: number,
): Promise<{ disks: GuestDisk[]; totals: PreviousTotals } | null> {
  if (!g.has("guest-get-diskstats")) return null;
  const list = await g.qga.call(QgaCommands.diskStats, undefined, { timeoutMs: g.timeoutMs });
  const next = new Map();
  const disks = capList(list, GuestLimits.disks, "disks", g.truncated).map((d) => {
    const name = boundText(d.name);
    const s = d.stats;
    const c = (v: bigint | undefined, k: string) =>
      guestCounter(v, `disk ${k}`, `${name}/${k}`, prev, now, next);
    return {
      name,
      readBytes: c(s["read-sectors"] === undefined ? undefined : s["read-sectors"] * SECTOR, "read-bytes"),
      writeBytes: c(
        s["write-sectors"] === undefined ? undefined : s["write-sectors"] * SECTOR,
        "write-bytes",
      ),
      readOps: c(s["read-ios"], "read-ios"),
      writeOps: c(s["write-ios"], "write-ios"),
    };
  });
  return { disks, totals: { at: now, totals: next } };
}

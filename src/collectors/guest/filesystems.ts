/**
 * Mounted filesystems with used/total bytes and the disks they sit on. Through libvirt: DOMAIN_GET_GUEST_INFO
 * FILESYSTEM (disks named by libvirt's alias, e.g. vda); otherwise guest-get-fsinfo (disks by guest device).
 */
import type { GuestFilesystem } from "../../model/types.ts";
import { GuestInfoType } from "../../protocol/libvirt/index.ts";
import { QgaCommands } from "../../protocol/qga/index.ts";
import type { GuestCall } from "./call.ts";
import { InfoParams } from "./info-params.ts";
import { boundText, capList, GuestLimits, guestCount } from "./limits.ts";

export async function readFilesystems(g: GuestCall): Promise<GuestFilesystem[] | null> {
  if (g.guestInfo) {
    const p = new InfoParams(await g.guestInfo(GuestInfoType.FILESYSTEM));
    const n = p.count("fs.count") ?? 0;
    if (n > GuestLimits.filesystems) g.truncated.add("filesystems");
    const out: GuestFilesystem[] = [];
    for (let i = 0; i < Math.min(n, GuestLimits.filesystems); i++) {
      const k = `fs.${i}`;
      const nd = Math.min(p.count(`${k}.disk.count`) ?? 0, GuestLimits.disksPerFilesystem);
      const disks: string[] = [];
      for (let d = 0; d < nd; d++) {
        const name = p.text(`${k}.disk.${d}.alias`) ?? p.text(`${k}.disk.${d}.device`);
        if (name !== null) disks.push(name);
      }
      out.push({
        mountpoint: p.text(`${k}.mountpoint`) ?? "",
        device: p.text(`${k}.name`) ?? "",
        type: p.text(`${k}.fstype`) ?? "",
        usedBytes: p.count(`${k}.used-bytes`),
        totalBytes: p.count(`${k}.total-bytes`),
        disks,
      });
    }
    return out;
  }
  if (!g.has("guest-get-fsinfo")) return null;
  const list = await g.qga.call(QgaCommands.fsInfo, undefined, { timeoutMs: g.timeoutMs });
  return capList(list, GuestLimits.filesystems, "filesystems", g.truncated).map((f) => ({
    mountpoint: boundText(f.mountpoint),
    device: boundText(f.name),
    type: boundText(f.type),
    usedBytes: f["used-bytes"] === undefined ? null : guestCount(f["used-bytes"], "used-bytes"),
    totalBytes: f["total-bytes"] === undefined ? null : guestCount(f["total-bytes"], "total-bytes"),
    disks: f.disk
      .slice(0, GuestLimits.disksPerFilesystem)
      .map((d) => boundText(d.dev ?? `${d["bus-type"]}:${d.bus}:${d.target}:${d.unit}`)),
  }));
}

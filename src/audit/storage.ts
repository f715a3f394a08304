/**
 * Whether a disk's storage is shared with other hosts, as live migration cares (libvirt's qemuMigrationSrcIsSafe
 * asks the same of the file system: virFileIsSharedFS). Network disks (rbd, iscsi, nbd, ...) are shared; a
 * file's file system is told by statfs's f_type magic.
 */
import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import type { DiskDefinition, StorageKind } from "./types.ts";

/** statfs f_type magics of file systems several hosts mount at once (linux/magic.h, fs sources). */
export const SHARED_FS_MAGIC: ReadonlyMap<number, string> = new Map([
  [0x6969, "nfs"],
  [0xff534d42, "cifs"],
  [0xfe534d42, "smb2"],
  [0x00c36400, "ceph"],
  [0x01161970, "gfs2"],
  [0x7461636f, "ocfs2"],
  [0x47504653, "gpfs"],
  [0x65735546, "fuse (glusterfs and others)"],
  [0x0bd00bd0, "lustre"],
  [0x19830326, "fhgfs/beegfs"],
]);

export function storageKindOfMagic(magic: number): StorageKind {
  return SHARED_FS_MAGIC.has(magic >>> 0) ? "shared" : "local";
}

export async function storageKind(disk: DiskDefinition): Promise<StorageKind> {
  if (disk.type === "network") return "network";
  if (disk.source === null || (disk.type !== "file" && disk.type !== "block")) return "unknown";
  // A block device's file system is devtmpfs; what backs it (iSCSI, FC, local disk) is not visible here.
  if (disk.type === "block") return "unknown";
  const st = await statfs(dirname(disk.source)).catch(() => null);
  return st === null ? "unknown" : storageKindOfMagic(st.type);
}

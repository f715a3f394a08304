/**
 * Names, paths and sizes of the lab in one place. Everything the lab creates lives under one directory
 * (default /var/lib/kvmon/lab, env KVMON_LAB_DIR) and every domain it defines carries both the name prefix and
 * the metadata element below, so `kvmon lab down` can prove a domain is its own before touching it.
 */
import { join } from "node:path";

export const LAB_PREFIX = "kvmon-lab-";
export const KVM_GUEST_NAME = `${LAB_PREFIX}kvm`;
export const DEFAULT_VMS = 2;
export const MAX_VMS = 16;

/** XML namespace of the marker element `<kvmon:lab .../>` in each lab domain's `<metadata>`. */
export const LAB_NS = "https://kvmon.dev/lab";

/**
 * Debian packages the lab needs on the host. python3-minimal gives /usr/bin/python3 for raw L2 frames;
 * openssl makes the lab's PKI for libvirtd's TLS listener.
 */
export const LAB_PACKAGES = [
  "qemu-system-x86",
  "qemu-utils",
  "qemu-guest-agent",
  "libvirt-daemon-system",
  "libvirt-clients",
  "busybox-static",
  "e2fsprogs",
  "python3-minimal",
  "openssl",
] as const;

/** Guest sizing (the lab recipe: enough for busybox + qemu-ga, small enough for several TCG guests). */
export const GUEST_VCPUS = 2;
export const GUEST_MEMORY_MIB = 256;
export const DATA_DISK_MIB = 64;
/** Mount point of the ext4 data disk inside each guest. */
export const GUEST_DATA_MOUNT = "/mnt/data";
export const KVM_GUEST_MEMORY_MIB = 32;

/** Free space needed under the lab directory before building (kernel package + extraction + image). */
export const MIN_FREE_BYTES_BUILD = 1024 * 1024 * 1024;
/** Free space needed to add guests to an existing image (per-guest disks grow up to DATA_DISK_MIB). */
export const MIN_FREE_BYTES_GUESTS = 256 * 1024 * 1024;

export const LIBVIRT_URI = "qemu:///system";

export interface LabPaths {
  root: string;
  /** Downloaded kernel package(s). */
  downloads: string;
  /** The built image: kernel, initramfs, data disk template, boot sector, manifest. */
  image: string;
  /** Per-guest data disks. */
  guests: string;
  /** Serial console logs (written by virtlogd). */
  logs: string;
}

export function labPaths(root = process.env.KVMON_LAB_DIR || "/var/lib/kvmon/lab"): LabPaths {
  return {
    root,
    downloads: join(root, "downloads"),
    image: join(root, "image"),
    guests: join(root, "guests"),
    logs: join(root, "logs"),
  };
}

/** kvmon-lab-1 .. kvmon-lab-N */
export function guestNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${LAB_PREFIX}${i + 1}`);
}

/** Deterministic MAC per guest (52:54:00 is QEMU's prefix; 6b:76 spells "kv"), so frames can be aimed at it. */
export function guestMac(index: number): string {
  return `52:54:00:6b:76:${index.toString(16).padStart(2, "0")}`;
}

/**
 * "Used" guest memory from the virtio balloon statistics. The guest's balloon driver (Linux
 * drivers/virtio/virtio_balloon.c, update_balloon_stats) reports, and libvirt names:
 *   available = MemTotal (VIRTIO_BALLOON_S_MEMTOT), unused = MemFree (S_MEMFREE),
 *   usable = MemAvailable (S_AVAIL), disk_caches = page cache (S_CACHES).
 *
 * used = available − usable: what `free` (procps-ng 4) reports as used, i.e. memory the guest cannot give back
 * without swapping; this is also OpenStack Ceilometer's memory.usage (ceilometer/compute/virt/libvirt/
 * inspector.py, since commit 2dee485da). Guest drivers that do not report `usable` (Linux < 4.6, some non-Linux drivers) fall back to
 * available − unused − disk_caches, and without disk_caches to available − unused, which counts page cache as
 * used. The formula used is returned with the value, and the raw fields are exported too, so any other
 * definition (e.g. available − unused) can be computed downstream.
 *
 * Never balloon.maximum or balloon.current: those are what the host assigned, not what the guest uses (the most
 * common complaint about existing exporters).
 */
import type { MemoryUsedFormula } from "./types.ts";

export interface BalloonFigures {
  availableBytes: number | null;
  unusedBytes: number | null;
  usableBytes: number | null;
  diskCachesBytes: number | null;
}

export interface MemoryUsed {
  usedBytes: number | null;
  usedFormula: MemoryUsedFormula | null;
}

/**
 * @example memoryUsed({availableBytes: 1000, usableBytes: 600, unusedBytes: 400, diskCachesBytes: 150})
 *   // {usedBytes: 400, usedFormula: "available-usable"}
 */
export function memoryUsed(b: BalloonFigures): MemoryUsed {
  const { availableBytes: available, usableBytes: usable, unusedBytes: unused, diskCachesBytes: caches } = b;
  if (available === null) return { usedBytes: null, usedFormula: null };
  if (usable !== null) return clamp(available - usable, "available-usable", available);
  if (unused !== null && caches !== null) {
    return clamp(available - unused - caches, "available-unused-caches", available);
  }
  if (unused !== null) return clamp(available - unused, "available-unused", available);
  return { usedBytes: null, usedFormula: null };
}

/** Balloon stats are sampled at different moments inside the guest; keep the result within [0, available]. */
function clamp(value: number, formula: MemoryUsedFormula, available: number): MemoryUsed {
  return { usedBytes: Math.min(Math.max(value, 0), available), usedFormula: formula };
}

/**
 * libvirt's disk cache and io modes and what QEMU does with each, as data (QEMU's `-drive cache=` mapping in
 * qemu-options.hx; QMP BlockdevCacheInfo in qapi/block-core.json). With `-blockdev` (libvirt >= 5.10 with
 * QEMU >= 4.2) the mode is split over two places: `cache.direct` / `cache.no-flush` on the block nodes and
 * `write-cache` on the device, so the audit reads all three and names the mode they add up to. In the model
 * because the disk audit, the CLI and the dashboard all explain the modes the same way.
 */

/** The cache-related switches of a QEMU block node and device (QMP BlockdevCacheInfo). */
export interface CacheFlags {
  /** The guest sees a volatile write cache and must flush (the device's write-cache). */
  writeback: boolean;
  /** The host page cache is bypassed: the image is opened with O_DIRECT. */
  direct: boolean;
  /** Flush requests are ignored. */
  noFlush: boolean;
}

export interface CacheMode {
  name: string;
  flags: CacheFlags;
  /** What the mode does to the host page cache, O_DIRECT and flushes, in plain words. */
  meaning: string;
}

export const CACHE_MODES: readonly CacheMode[] = [
  {
    name: "writeback",
    flags: { writeback: true, direct: false, noFlush: false },
    meaning:
      "writes go to the host page cache and are reported done at once; the guest's flushes write them to " +
      "storage. Data the guest has not flushed is lost on a host crash; reads may be served from host memory.",
  },
  {
    name: "none",
    flags: { writeback: true, direct: true, noFlush: false },
    meaning:
      "O_DIRECT: the host page cache is bypassed, the guest sees a disk with a write cache and its flushes " +
      "reach storage. The usual choice, and the one libvirt accepts for live migration without shared-cache checks.",
  },
  {
    name: "writethrough",
    flags: { writeback: false, direct: false, noFlush: false },
    meaning:
      "writes go through the host page cache and each one is flushed to storage before it is reported done: " +
      "safe, slower writes, reads may be served from host memory.",
  },
  {
    name: "directsync",
    flags: { writeback: false, direct: true, noFlush: false },
    meaning:
      "O_DIRECT and every write flushed before it is reported done: the host page cache is bypassed; the safest " +
      "and slowest mode.",
  },
  {
    name: "unsafe",
    flags: { writeback: true, direct: false, noFlush: true },
    meaning:
      "like writeback, but the guest's flush requests are ignored: nothing is ever forced to storage. A host " +
      "crash or power loss loses any amount of written data and can corrupt the guest's file systems.",
  },
];

/** What QEMU uses when libvirt's definition names no cache mode (`cache='default'` or none). */
export const QEMU_DEFAULT_MODE = "writeback";

export function cacheMode(name: string): CacheMode | undefined {
  return CACHE_MODES.find((m) => m.name === name);
}

/** The libvirt mode a definition's `cache` attribute stands for: absent or 'default' resolves to QEMU's. */
export function resolveMode(cache: string | null): string {
  return cache === null || cache === "default" ? QEMU_DEFAULT_MODE : cache;
}

/** The mode these runtime flags add up to; null for a combination no libvirt mode sets up (e.g. O_DIRECT with
 * flushes ignored, which only a QMP passthrough could make). */
export function modeOf(flags: CacheFlags): string | null {
  return CACHE_MODES.find((m) => sameFlags(m.flags, flags))?.name ?? null;
}

export function sameFlags(a: CacheFlags, b: CacheFlags): boolean {
  return a.writeback === b.writeback && a.direct === b.direct && a.noFlush === b.noFlush;
}

/** libvirt's `<driver io>`: how QEMU submits the disk's requests to the host. */
export const IO_MODES: ReadonlyArray<{ name: string; meaning: string }> = [
  {
    name: "threads",
    meaning:
      "QEMU's pool of I/O threads makes ordinary blocking calls (QEMU's default): works with every cache mode.",
  },
  {
    name: "native",
    meaning:
      "Linux native AIO (io_submit) from QEMU's event loop: fewer threads and less latency, but only with " +
      "O_DIRECT (cache none or directsync); without it the calls block.",
  },
  {
    name: "io_uring",
    meaning:
      "Linux io_uring from QEMU's event loop (QEMU >= 5.0, Linux >= 5.1): asynchronous with any cache mode.",
  },
];

/** What QEMU uses when the definition names no io mode. */
export const IO_DEFAULT = "threads";

export function ioMode(name: string): { name: string; meaning: string } | undefined {
  return IO_MODES.find((m) => m.name === name);
}

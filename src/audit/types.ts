/**
 * What `kvmon audit` reports per domain and disk: the disk as each definition states it (persistent, live), as
 * QEMU runs it (its command line, optionally QMP `query-block`), the flags QEMU holds the image open with, the
 * measured latency, and the findings drawn from them. Plain data: the CLI renders it, `--json` prints it.
 */

import type { CacheFlags } from "../model/cache-modes.ts";

export type { CacheFlags };

/** One `<disk>` of a domain definition, with the attributes the audit judges. */
export interface DiskDefinition {
  target: string;
  /** disk, cdrom, floppy, lun. */
  device: string | null;
  /** file, block, network, volume, dir, nvme, vhostuser. */
  type: string | null;
  bus: string | null;
  source: string | null;
  /** The image format (`<driver type>`): raw, qcow2, ... */
  format: string | null;
  /** `<driver cache>` as written; null when absent (libvirt then lets QEMU choose: writeback). */
  cache: string | null;
  /** `<driver io>` as written: threads, native, io_uring; null when absent. */
  io: string | null;
  /** `<driver discard>`: unmap or ignore; null when absent. */
  discard: string | null;
  shareable: boolean;
  readonly: boolean;
  /** The device alias (`<alias name>`), in the live definition only: QEMU's device id. */
  alias: string | null;
}

/** How QEMU's command line sets a disk up: its `-device` and the `-blockdev` nodes under it. */
export interface CmdlineDisk {
  /** The `-device` id (libvirt's disk alias). */
  deviceId: string;
  /** The top block node the device uses (`drive`). */
  nodeName: string;
  /** The protocol node's file name (the image file or block device). */
  filename: string | null;
  /** The image format driver (qcow2, raw, ...). */
  format: string | null;
  /** `aio` of the protocol node: threads (QEMU's default), native, io_uring. */
  aio: string;
  cache: CacheFlags;
  readOnly: boolean;
  discard: string | null;
}

/** A disk as QMP `query-block` reports it. */
export interface QueryBlockDisk {
  /** The device's QOM path or id (`qdev`). */
  qdev: string | null;
  nodeName: string | null;
  file: string | null;
  format: string | null;
  readOnly: boolean;
  cache: CacheFlags;
}

/** One descriptor QEMU holds an image open with (`/proc/<pid>/fd`, `/proc/<pid>/fdinfo`). */
export interface OpenImage {
  fd: number;
  path: string;
  /** `flags:` of fdinfo, as the kernel prints it (octal). */
  flagsOctal: string;
  access: "read-only" | "write-only" | "read-write";
  direct: boolean;
  dsync: boolean;
  sync: boolean;
}

/** Average latency per request over the measuring window, in seconds; null when no request completed. */
export interface DiskLatency {
  windowSeconds: number;
  read: number | null;
  write: number | null;
  flush: number | null;
  readRequests: number;
  writeRequests: number;
  flushRequests: number;
}

export type Severity = "info" | "warning" | "critical";

export interface Finding {
  /** Stable rule id (`unsafe-cache`, `native-without-direct`, ...): what scripts match on. */
  rule: string;
  severity: Severity;
  /** What was found, for this disk. */
  message: string;
  /** What it means for the data, in plain words. */
  meaning: string;
}

/** Where the disk's storage lives, as far as live migration cares. */
export type StorageKind = "local" | "shared" | "network" | "unknown";

export interface DiskAudit {
  target: string;
  persistent: DiskDefinition | null;
  live: DiskDefinition | null;
  cmdline: CmdlineDisk | null;
  /** Present only with --qmp. */
  queryBlock: QueryBlockDisk | null;
  openImages: OpenImage[];
  storage: StorageKind;
  /** The mode QEMU runs the disk with (runtime views first, else the live definition). */
  effective: { mode: string | null; cache: CacheFlags | null; aio: string | null; from: string };
  latency: DiskLatency | null;
  findings: Finding[];
}

export interface DomainAudit {
  name: string;
  uuid: string;
  running: boolean;
  persistent: boolean;
  /** QEMU's pid, when running on this host. */
  pid: number | null;
  disks: DiskAudit[];
  /** What could not be looked at, and why (e.g. "not running: definitions only"). */
  notes: string[];
}

export const SEVERITIES: readonly Severity[] = ["info", "warning", "critical"];

/** Whether `s` is at or above `threshold`. */
export function atLeast(s: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(s) >= SEVERITIES.indexOf(threshold);
}

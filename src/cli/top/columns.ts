/**
 * The columns of each `top` view as data: key (for -o and F), header, width, the value it sorts by and how it
 * prints. virt-top's views: VMs, and per vCPU (1), per disk (2), per NIC (3).
 */
import type { DomainSample } from "../../model/types.ts";
import {
  type DiskRow,
  diskRows,
  type NicRow,
  nicRows,
  type VcpuRow,
  vcpuRows,
  type VmRow,
  vmRow,
} from "./rows.ts";
import { formatBytes, formatCount, formatDuration, formatPercent } from "./units.ts";

export interface Column<R> {
  key: string;
  header: string;
  width: number;
  value: (row: R) => number | string | null;
  format: (value: number | string | null) => string;
  /** Left-aligned (text); numbers are right-aligned. */
  left?: boolean;
}

export type ViewName = "vms" | "vcpus" | "disks" | "nics";

export interface View<R> {
  name: ViewName;
  title: string;
  rows: (d: DomainSample) => R[];
  columns: Column<R>[];
}

const text = (s: number | string | null) => (s === null ? "-" : String(s));
const bytes = (v: number | string | null) => formatBytes(v as number | null);
const count = (v: number | string | null) => formatCount(v as number | null);
const percent = (v: number | string | null) => formatPercent(v as number | null);
const duration = (v: number | string | null) => formatDuration(v as number | null);
const millis = (v: number | string | null) => (v === null ? "-" : (v as number).toFixed(2));

function col<R>(
  key: string,
  header: string,
  width: number,
  value: Column<R>["value"],
  format = count,
): Column<R> {
  return { key, header, width, value, format };
}

const nameCol = <R extends { name: string }>(): Column<R> => ({
  key: "name",
  header: "NAME",
  width: 16,
  value: (r) => r.name,
  format: text,
  left: true,
});

export const vmView: View<VmRow> = {
  name: "vms",
  title: "VMs",
  rows: (d) => [vmRow(d)],
  columns: [
    nameCol<VmRow>(),
    { key: "state", header: "STATE", width: 8, value: (r) => r.state, format: text, left: true },
    col("cpu", "%CPU", 6, (r) => r.cpuPercent, percent),
    col("guestcpu", "%GCPU", 6, (r) => r.guestCpuPercent, percent),
    col("steal", "%STEAL", 6, (r) => r.stealPercent, percent),
    col("mem", "MEMUSED", 7, (r) => r.memoryUsedBytes, bytes),
    col("memtotal", "MEMTOT", 6, (r) => r.memoryTotalBytes, bytes),
    col("rd", "RDBY/s", 6, (r) => r.diskReadBytesPerSecond, bytes),
    col("wr", "WRBY/s", 6, (r) => r.diskWriteBytesPerSecond, bytes),
    col("rdops", "RDOP/s", 6, (r) => r.diskReadOpsPerSecond),
    col("wrops", "WROP/s", 6, (r) => r.diskWriteOpsPerSecond),
    col("rx", "RXBY/s", 6, (r) => r.netRxBytesPerSecond, bytes),
    col("tx", "TXBY/s", 6, (r) => r.netTxBytesPerSecond, bytes),
    col("exits", "EXIT/s", 6, (r) => r.kvmExitsPerSecond),
    col("time", "TIME", 7, (r) => r.cpuTimeSeconds, duration),
  ],
};

export const vcpuView: View<VcpuRow> = {
  name: "vcpus",
  title: "vCPUs",
  rows: vcpuRows,
  columns: [
    nameCol<VcpuRow>(),
    col("vcpu", "VCPU", 4, (r) => r.vcpu),
    { key: "state", header: "STATE", width: 8, value: (r) => r.state, format: text, left: true },
    col("cpu", "%CPU", 6, (r) => r.cpuPercent, percent),
    col("wait", "%WAIT", 6, (r) => r.waitPercent, percent),
    col("steal", "%STEAL", 6, (r) => r.stealPercent, percent),
    col("exits", "EXIT/s", 6, (r) => r.kvmExitsPerSecond),
    col("time", "TIME", 7, (r) => r.cpuTimeSeconds, duration),
  ],
};

export const diskView: View<DiskRow> = {
  name: "disks",
  title: "disks",
  rows: diskRows,
  columns: [
    nameCol<DiskRow>(),
    { key: "disk", header: "DISK", width: 6, value: (r) => r.disk, format: text, left: true },
    col("rd", "RDBY/s", 6, (r) => r.readBytesPerSecond, bytes),
    col("wr", "WRBY/s", 6, (r) => r.writeBytesPerSecond, bytes),
    col("rdops", "RDOP/s", 6, (r) => r.readOpsPerSecond),
    col("wrops", "WROP/s", 6, (r) => r.writeOpsPerSecond),
    col("rdlat", "RDms", 6, (r) => r.readLatencyMs, millis),
    col("wrlat", "WRms", 6, (r) => r.writeLatencyMs, millis),
    col("size", "SIZE", 6, (r) => r.capacityBytes, bytes),
  ],
};

export const nicView: View<NicRow> = {
  name: "nics",
  title: "NICs",
  rows: nicRows,
  columns: [
    nameCol<NicRow>(),
    { key: "nic", header: "NIC", width: 8, value: (r) => r.nic, format: text, left: true },
    { key: "mac", header: "MAC", width: 17, value: (r) => r.mac, format: text, left: true },
    col("rx", "RXBY/s", 6, (r) => r.rxBytesPerSecond, bytes),
    col("tx", "TXBY/s", 6, (r) => r.txBytesPerSecond, bytes),
    col("rxpk", "RXPK/s", 6, (r) => r.rxPacketsPerSecond),
    col("txpk", "TXPK/s", 6, (r) => r.txPacketsPerSecond),
    col("rxtot", "RXBY", 6, (r) => r.rxBytes, bytes),
    col("txtot", "TXBY", 6, (r) => r.txBytes, bytes),
  ],
};

const hostCol: Column<{ host?: string }> = {
  key: "host",
  header: "HOST",
  width: 10,
  value: (r) => r.host ?? null,
  format: text,
  left: true,
};

// Each view's row type differs; the table code only goes through Column's functions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyView = View<any>;

export const VIEWS: Record<ViewName, AnyView> = {
  vms: vmView,
  vcpus: vcpuView,
  disks: diskView,
  nics: nicView,
};

/** The view as drawn: through the fleet server (many hosts' VMs) with a HOST column first. */
export function viewOf(name: ViewName, fleet: boolean): AnyView {
  const view = VIEWS[name];
  return fleet ? { ...view, columns: [hostCol, ...view.columns] } : view;
}

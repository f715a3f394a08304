/**
 * What `top` shows, derived from the model's DomainSample: one row per VM, per vCPU, per disk or per NIC. The
 * field names carry their units; the JSON output is these rows as they are, so it holds the same numbers as
 * the table. `null` means not known (first sample, no guest view, shut-off VM), never zero.
 */
import type { CounterValue, DomainSample } from "../../model/types.ts";
import type { ViewDomain } from "../view/types.ts";

export interface VmRow {
  name: string;
  state: string;
  /** Host view: CPU used by the VM, 100 = one host CPU busy (may exceed 100). */
  cpuPercent: number | null;
  /** In-guest view (guest agent): busy share of all the guest's CPUs, 100 = all busy. */
  guestCpuPercent: number | null;
  /** Time runnable vCPU threads waited for a host CPU (steal as the guest sees it), average over vCPUs. */
  stealPercent: number | null;
  vcpus: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  /** Where the memory figures come from: the guest's /proc/meminfo, the balloon driver, or the host's assignment. */
  memorySource: "guest" | "balloon" | "host" | null;
  diskReadBytesPerSecond: number | null;
  diskWriteBytesPerSecond: number | null;
  diskReadOpsPerSecond: number | null;
  diskWriteOpsPerSecond: number | null;
  netRxBytesPerSecond: number | null;
  netTxBytesPerSecond: number | null;
  kvmExitsPerSecond: number | null;
  cpuTimeSeconds: number | null;
}

export interface VcpuRow {
  name: string;
  vcpu: number;
  /** virVcpuState name: offline, running, blocked. */
  state: string;
  cpuPercent: number | null;
  waitPercent: number | null;
  stealPercent: number | null;
  kvmExitsPerSecond: number | null;
  cpuTimeSeconds: number | null;
}

export interface DiskRow {
  name: string;
  disk: string;
  readBytesPerSecond: number | null;
  writeBytesPerSecond: number | null;
  readOpsPerSecond: number | null;
  writeOpsPerSecond: number | null;
  readLatencyMs: number | null;
  writeLatencyMs: number | null;
  capacityBytes: number | null;
}

export interface NicRow {
  name: string;
  nic: string;
  mac: string | null;
  rxBytesPerSecond: number | null;
  txBytesPerSecond: number | null;
  rxPacketsPerSecond: number | null;
  txPacketsPerSecond: number | null;
  rxBytes: number | null;
  txBytes: number | null;
}

const rate = (c: CounterValue | null | undefined): number | null => c?.perSecond ?? null;
const pct = (n: number | null | undefined): number | null => (n === null || n === undefined ? null : n * 100);

/** Sum of the known values; null when none is known. */
export function sumKnown(values: ReadonlyArray<number | null>): number | null {
  let total: number | null = null;
  for (const v of values) if (v !== null) total = (total ?? 0) + v;
  return total;
}

function memory(d: DomainSample): Pick<VmRow, "memoryUsedBytes" | "memoryTotalBytes" | "memorySource"> {
  const g = d.guest?.memory;
  if (g) {
    const free = g.availableBytes ?? g.freeBytes;
    return {
      memoryUsedBytes: free === null ? null : g.totalBytes - free,
      memoryTotalBytes: g.totalBytes,
      memorySource: "guest",
    };
  }
  const m = d.memory;
  if (!m) return { memoryUsedBytes: null, memoryTotalBytes: null, memorySource: null };
  if (m.availableBytes !== null)
    return { memoryUsedBytes: m.usedBytes, memoryTotalBytes: m.availableBytes, memorySource: "balloon" };
  return { memoryUsedBytes: m.rssBytes, memoryTotalBytes: m.currentBytes, memorySource: "host" };
}

function guestBusy(d: DomainSample): number | null {
  const idle = d.guest?.cpu?.idle;
  return idle === null || idle === undefined ? null : (1 - idle) * 100;
}

export function vmRow(d: DomainSample): VmRow {
  const vcpuList = d.vcpus?.list ?? [];
  const delays = vcpuList.map((v) => rate(v.delaySeconds));
  const steal = sumKnown(delays);
  const known = delays.filter((v) => v !== null).length;
  const block = d.block ?? [];
  const nics = d.interfaces ?? [];
  const active = d.state?.active ?? false;
  const sumOf = <T>(list: readonly T[], f: (x: T) => number | null) =>
    active ? sumKnown(list.map(f)) : null;
  return {
    name: d.name,
    state: d.state?.state ?? (d.source === "socket" ? "socket" : "unknown"),
    cpuPercent: pct(d.cpu?.hostCpuRatio),
    guestCpuPercent: guestBusy(d),
    stealPercent: steal === null ? null : (steal / known) * 100,
    vcpus: d.vcpus?.current ?? null,
    ...memory(d),
    diskReadBytesPerSecond: sumOf(block, (b) => rate(b.readBytes)),
    diskWriteBytesPerSecond: sumOf(block, (b) => rate(b.writeBytes)),
    diskReadOpsPerSecond: sumOf(block, (b) => rate(b.readRequests)),
    diskWriteOpsPerSecond: sumOf(block, (b) => rate(b.writeRequests)),
    netRxBytesPerSecond: sumOf(nics, (n) => rate(n.rxBytes)),
    netTxBytesPerSecond: sumOf(nics, (n) => rate(n.txBytes)),
    kvmExitsPerSecond: rate(d.kvm?.totals.exits),
    cpuTimeSeconds: d.cpu?.timeSeconds.total ?? null,
  };
}

/** The rows of one VM, each with the VM's host when the fleet server gave one (rows keep their own order). */
export function hostedRows<R extends object>(d: ViewDomain, rows: R[]): Array<R & { host?: string }> {
  const host = d.host;
  return host === undefined ? rows : rows.map((r) => ({ host, ...r }));
}

const VCPU_STATES = ["offline", "running", "blocked"];

export function vcpuRows(d: DomainSample): VcpuRow[] {
  return (d.vcpus?.list ?? []).map((v) => ({
    name: d.name,
    vcpu: v.index,
    state: v.state === null ? "-" : (VCPU_STATES[v.state] ?? String(v.state)),
    cpuPercent: pct(rate(v.timeSeconds)),
    waitPercent: pct(rate(v.waitSeconds)),
    stealPercent: pct(rate(v.delaySeconds)),
    kvmExitsPerSecond: rate(d.kvm?.vcpus.find((k) => k.index === v.index)?.counters.exits),
    cpuTimeSeconds: v.timeSeconds?.total ?? null,
  }));
}

const ms = (s: number | null) => (s === null ? null : s * 1000);

export function diskRows(d: DomainSample): DiskRow[] {
  return (d.block ?? []).map((b) => ({
    name: d.name,
    disk: b.name,
    readBytesPerSecond: rate(b.readBytes),
    writeBytesPerSecond: rate(b.writeBytes),
    readOpsPerSecond: rate(b.readRequests),
    writeOpsPerSecond: rate(b.writeRequests),
    readLatencyMs: ms(b.readLatencySeconds),
    writeLatencyMs: ms(b.writeLatencySeconds),
    capacityBytes: b.capacityBytes,
  }));
}

export function nicRows(d: DomainSample): NicRow[] {
  return (d.interfaces ?? []).map((n) => ({
    name: d.name,
    nic: n.name,
    mac: n.mac,
    rxBytesPerSecond: rate(n.rxBytes),
    txBytesPerSecond: rate(n.txBytes),
    rxPacketsPerSecond: rate(n.rxPackets),
    txPacketsPerSecond: rate(n.txPackets),
    rxBytes: n.rxBytes?.total ?? null,
    txBytes: n.txBytes?.total ?? null,
  }));
}

/**
 * `--blocks` and the shell's `monitor-all`: one block per VM, like KMON's kmmonitorall: network per interface
 * (bytes and packets, totals and rates), memory total/free, CPU total and per vCPU. For narrow terminals and
 * logs. Figures come from inside the guest (guest view: /proc/meminfo, /proc/net/dev, /proc/stat) when the
 * agent has them, else from the host (balloon driver, tap devices, vCPU threads); each line says which.
 * Totals are printed whole (kB as /proc/meminfo has them, bytes and packets as /proc/net/dev), so they can be
 * compared with the guest's own files.
 */
import type { CounterValue, DomainSample } from "../../model/types.ts";
import { vcpuRows, vmRow } from "./rows.ts";
import { formatBytes, formatCount, formatPercent } from "./units.ts";

const kB = (n: number | null) => (n === null ? "-" : `${Math.round(n / 1024)} kB`);
const total = (c: CounterValue | null | undefined) => (c ? String(c.total) : "-");
const perSecond = (c: CounterValue | null | undefined, f: (n: number | null) => string) =>
  f(c?.perSecond ?? null);

function memoryLine(d: DomainSample): string {
  const g = d.guest?.memory;
  if (g) {
    return `memory  total ${kB(g.totalBytes)}  free ${kB(g.freeBytes)}  available ${kB(g.availableBytes)}  (guest /proc/meminfo)`;
  }
  const m = d.memory;
  if (m?.availableBytes != null) {
    return `memory  total ${kB(m.availableBytes)}  free ${kB(m.unusedBytes)}  available ${kB(m.usableBytes)}  (balloon driver)`;
  }
  if (m) return `memory  total ${kB(m.currentBytes)}  rss ${kB(m.rssBytes)}  (host: assigned, QEMU resident)`;
  return "memory  -";
}

function netLines(d: DomainSample): string[] {
  const guestNics = d.guest?.interfaces?.filter((n) => n.name !== "lo" && n.rxBytes !== null);
  if (guestNics && guestNics.length > 0) {
    return guestNics.map(
      (n) =>
        `net     ${n.name.padEnd(8)} rx ${total(n.rxBytes)} B ${total(n.rxPackets)} pkt (${perSecond(n.rxBytes, formatBytes)}B/s)` +
        `  tx ${total(n.txBytes)} B ${total(n.txPackets)} pkt (${perSecond(n.txBytes, formatBytes)}B/s)  (guest)`,
    );
  }
  return (d.interfaces ?? []).map(
    (n) =>
      `net     ${n.name.padEnd(8)} rx ${total(n.rxBytes)} B ${total(n.rxPackets)} pkt (${perSecond(n.rxBytes, formatBytes)}B/s)` +
      `  tx ${total(n.txBytes)} B ${total(n.txPackets)} pkt (${perSecond(n.txBytes, formatBytes)}B/s)  (host tap)`,
  );
}

function cpuLines(d: DomainSample): string[] {
  const r = vmRow(d);
  const guest = r.guestCpuPercent === null ? "" : `  guest ${formatPercent(r.guestCpuPercent)}%`;
  const lines = [
    `cpu     total ${formatPercent(r.cpuPercent)}%${guest}  steal ${formatPercent(r.stealPercent)}%  exits ${formatCount(r.kvmExitsPerSecond)}/s`,
  ];
  const vcpus = vcpuRows(d).map((v) => `vcpu${v.vcpu} ${formatPercent(v.cpuPercent)}%`);
  // Four vCPUs a line keeps a block within 80 columns.
  for (let i = 0; i < vcpus.length; i += 4) lines.push(`cpu     ${vcpus.slice(i, i + 4).join("  ")}`);
  return lines;
}

/** One VM's block: a title line, then indented cpu, memory and net lines. */
export function vmBlock(d: DomainSample): string[] {
  const r = vmRow(d);
  const title = `${d.name}  ${r.state}${r.vcpus === null ? "" : `  vcpus ${r.vcpus}`}`;
  if (!(d.state?.active ?? d.source === "socket")) return [title];
  return [title, ...[...cpuLines(d), memoryLine(d), ...netLines(d)].map((l) => `  ${l}`)];
}

/** Every VM's block, a blank line between them, under a time stamp line. */
export function drawBlocks(domains: readonly DomainSample[], at: number): string[] {
  const out = [`--- ${new Date(at).toISOString()}`];
  for (const d of domains) out.push(...vmBlock(d), "");
  return out;
}

/**
 * The readable `kvmon audit` report: per domain a table of its disks (what the next boot uses, what the live
 * definition says, what QEMU runs with and where that was read, the image's open flags, the measured latency),
 * then the findings by severity with what each means, then what the cache modes in use do.
 */
import { cacheMode } from "../../model/cache-modes.ts";
import {
  atLeast,
  type DiskAudit,
  type DomainAudit,
  type Finding,
  type Severity,
  SEVERITIES,
} from "../../audit/types.ts";
import type { Colors } from "../colors.ts";

export function severityCounts(domains: readonly DomainAudit[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { info: 0, warning: 0, critical: 0 };
  for (const d of domains) for (const disk of d.disks) for (const f of disk.findings) counts[f.severity]++;
  return counts;
}

/** Whether any finding is at or above `threshold`. */
export function hasFindingAtLeast(domains: readonly DomainAudit[], threshold: Severity): boolean {
  return domains.some((d) =>
    d.disks.some((disk) => disk.findings.some((f) => atLeast(f.severity, threshold))),
  );
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}

const definitionText = (d: DiskAudit["live"]) => (d ? `${d.cache ?? "default"}/${d.io ?? "default"}` : "-");

function ms(seconds: number | null): string {
  if (seconds === null) return "-";
  const v = seconds * 1000;
  return v >= 10 ? v.toFixed(0) : v >= 0.1 ? v.toFixed(2) : v.toFixed(3);
}

function openText(disk: DiskAudit): string {
  if (disk.openImages.length === 0) return "-";
  return disk.openImages
    .map((o) => {
      const bits = [o.access === "read-only" ? "ro" : o.access === "write-only" ? "wo" : "rw"];
      if (o.direct) bits.push("O_DIRECT");
      if (o.sync) bits.push("O_SYNC");
      else if (o.dsync) bits.push("O_DSYNC");
      return `fd${o.fd} ${bits.join(",")}`;
    })
    .join("; ");
}

function runtimeText(disk: DiskAudit): string {
  const { mode, aio, from } = disk.effective;
  const where = from === "QEMU command line" ? "cmdline" : from;
  return `${mode ?? "custom"}/${aio ?? "-"} (${where})`;
}

function diskRows(domain: DomainAudit): string[][] {
  const header = ["DISK", "FORMAT", "NEXT BOOT", "LIVE", "QEMU RUNS", "OPEN FLAGS", "LATENCY ms r/w/flush"];
  return [
    header,
    ...domain.disks.map((d) => [
      d.target,
      (d.live ?? d.persistent)?.format ?? "-",
      definitionText(d.persistent),
      domain.running ? definitionText(d.live) : "-",
      domain.running ? runtimeText(d) : "-",
      openText(d),
      d.latency ? `${ms(d.latency.read)}/${ms(d.latency.write)}/${ms(d.latency.flush)}` : "-",
    ]),
  ];
}

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function severityLabel(s: Severity, c: Colors): string {
  const label = s.toUpperCase().padEnd(8);
  return s === "critical" ? c.red(c.bold(label)) : s === "warning" ? c.yellow(label) : c.cyan(label);
}

function findingLines(domain: DomainAudit, c: Colors): string[] {
  const all: Array<Finding & { target: string }> = domain.disks.flatMap((d) =>
    d.findings.map((f) => ({ ...f, target: d.target })),
  );
  all.sort((a, b) => SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity));
  if (all.length === 0) return ["  no findings"];
  return all.flatMap((f) => [
    `  ${severityLabel(f.severity, c)} ${f.target}: ${f.message} [${f.rule}]`,
    ...wrap(f.meaning, 100).map((l) => `           ${c.dim(l)}`),
  ]);
}

export function renderReport(
  domains: readonly DomainAudit[],
  opts: { qmp: boolean; colors: Colors },
): string {
  const c = opts.colors;
  const out: string[] = [];
  for (const domain of domains) {
    const state = domain.running ? `running, QEMU pid ${domain.pid ?? "unknown"}` : "shut off";
    out.push(c.bold(`${domain.name}`) + `  ${state}${domain.persistent ? "" : ", transient"}`);
    if (domain.disks.length === 0) out.push("  no disks");
    else out.push(...table(diskRows(domain)).map((l) => `  ${l}`));
    for (const d of domain.disks) {
      const src = (d.live ?? d.persistent)?.source;
      if (src) out.push(c.dim(`  ${d.target}: ${src} (${d.storage} storage)`));
    }
    for (const note of domain.notes) out.push(`  note: ${note}`);
    out.push(...findingLines(domain, c), "");
  }
  const modes = [...new Set(domains.flatMap((d) => d.disks.map((disk) => disk.effective.mode)))].filter(
    (m): m is string => m !== null,
  );
  if (modes.length > 0) {
    out.push("Cache modes in use:");
    for (const m of modes) {
      const [first = "", ...rest] = wrap(cacheMode(m)?.meaning ?? "", 100);
      out.push(`  ${m.padEnd(12)} ${first}`, ...rest.map((l) => `${" ".repeat(15)}${l}`));
    }
    out.push("");
  }
  const n = severityCounts(domains);
  const disks = domains.reduce((s, d) => s + d.disks.length, 0);
  out.push(
    `${domains.length} domain(s), ${disks} disk(s): ${n.critical} critical, ${n.warning} warning(s), ${n.info} info` +
      (opts.qmp ? " (query-block asked: libvirt marks those domains tainted, custom-monitor)" : ""),
  );
  return `${out.join("\n")}\n`;
}

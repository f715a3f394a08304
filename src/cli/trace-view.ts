/**
 * What `kvmon trace` shows, as pure functions of the tracer's counts (no I/O, unit-tested): the live view
 * (rates over the last refresh per vCPU, event, reason and target, with bars, like `perf kvm stat live`), the
 * plain lines it prints instead when stdout is not a terminal, the summary table at the end, and the
 * recent-event log.
 */
import type { CountRow, DomainCounts, RecentEvent } from "../tracer/index.ts";
import { paint } from "./terminal.ts";

export interface TraceFrame {
  /** Seconds since the run started, and its length. */
  elapsed: number;
  duration: number;
  /** Where the tracer runs ("agent at http://...", "in-process"). */
  via: string;
  domains: DomainCounts[];
  /** Per domain: events per second of each row over the last refresh, by rowKey. */
  rates: Map<string, Map<string, number>>;
  /** Enabled events that produced nothing so far (kvm_exit on a kvm_pvm host), `system:name`. */
  silent: string[];
}

export const rowKey = (r: Pick<CountRow, "vcpu" | "event" | "reason" | "target">): string =>
  `${r.vcpu}\t${r.event}\t${r.reason}\t${r.target}`;

/** Each row's events per second between two readings of a domain's counts `seconds` apart. */
export function rowRates(
  prev: DomainCounts | undefined,
  next: DomainCounts,
  seconds: number,
): Map<string, number> {
  const before = new Map(prev?.rows.map((r) => [rowKey(r), r.count]) ?? []);
  const rates = new Map<string, number>();
  for (const r of next.rows) {
    const delta = r.count - (before.get(rowKey(r)) ?? 0);
    rates.set(rowKey(r), seconds > 0 ? Math.max(0, delta) / seconds : 0);
  }
  return rates;
}

const n = (v: number) => Math.round(v).toLocaleString("en-US");
const pad = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}~` : s.padEnd(w));
const rpad = (s: string, w: number) => s.padStart(w);

export function silentNote(silent: readonly string[]): string[] {
  if (silent.length === 0) return [];
  return [
    `silent: ${silent.join(", ")}: enabled, but no event so far in this run (a zero here is not a measurement: on a kvm_pvm host KVM never fires kvm_exit)`,
  ];
}

/** A bar of `width` cells for `value` of `max`, in eighths of a cell. */
export function bar(value: number, max: number, width: number): string {
  if (max <= 0 || width <= 0 || value <= 0) return "";
  const eighths = Math.max(1, Math.round((value / max) * width * 8));
  const partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8]!;
  return "█".repeat(Math.floor(eighths / 8)) + partial;
}

interface LiveRow {
  domain: string;
  row: CountRow;
  rate: number;
}

function liveRows(frame: TraceFrame): LiveRow[] {
  const rows: LiveRow[] = [];
  for (const d of frame.domains) {
    const rates = frame.rates.get(d.domain);
    for (const row of d.rows) rows.push({ domain: d.domain, row, rate: rates?.get(rowKey(row)) ?? 0 });
  }
  return rows.sort(
    (a, b) =>
      a.domain.localeCompare(b.domain) ||
      a.row.vcpu - b.row.vcpu ||
      b.rate - a.rate ||
      b.row.count - a.row.count,
  );
}

/** The full-screen view: a header, then per domain and vCPU its rows by rate with bars. */
export function renderLive(
  frame: TraceFrame,
  opts: { width: number; height: number; colour: boolean },
): string {
  const p = paint(opts.colour);
  const lines: string[] = [
    p.bold(
      `kvmon trace  ${Math.min(frame.elapsed, frame.duration).toFixed(0)} s of ${frame.duration.toFixed(0)} s  via ${frame.via}`,
    ),
    ...silentNote(frame.silent).map((l) => p.yellow(l)),
    "",
  ];
  const rows = liveRows(frame);
  const max = Math.max(0, ...rows.map((r) => r.rate));
  const fixed = 4 + 2 + 18 + 1 + 12 + 1 + 12 + 1 + 10 + 2 + 2 + 12;
  const barWidth = Math.max(8, opts.width - fixed);
  const budget = Math.max(1, opts.height - lines.length - 1);
  let used = 0;
  for (const d of [...frame.domains].sort((a, b) => a.domain.localeCompare(b.domain))) {
    if (used >= budget) break;
    const perSecond = [...(frame.rates.get(d.domain)?.values() ?? [])].reduce((a, b) => a + b, 0);
    lines.push(
      p.cyan(`${d.domain}  ${n(perSecond)} events/s, ${n(d.total)} in ${d.seconds.toFixed(0)} s`),
      p.dim(
        `${rpad("vCPU", 4)}  ${pad("EVENT", 18)} ${pad("REASON", 12)} ${pad("TARGET", 12)} ${rpad("/s", 10)}  ${pad("", barWidth)}  ${rpad("TOTAL", 12)}`,
      ),
    );
    used += 2;
    const mine = rows.filter((r) => r.domain === d.domain);
    if (mine.length === 0) lines.push("      (no events yet)");
    for (const r of mine) {
      if (used >= budget) {
        lines.push(
          p.dim(`      ... ${mine.length - mine.indexOf(r)} more rows (a taller terminal shows them)`),
        );
        break;
      }
      lines.push(
        `${rpad(String(r.row.vcpu), 4)}  ${pad(r.row.event, 18)} ${pad(r.row.reason, 12)} ${pad(r.row.target, 12)} ${rpad(n(r.rate), 10)}  ${p.green(pad(bar(r.rate, max, barWidth), barWidth))}  ${rpad(n(r.row.count), 12)}`,
      );
      used++;
    }
    lines.push("");
  }
  return lines.map((l) => `${l}\x1b[K`).join("\n");
}

/** Not a terminal: one line per domain each refresh, its rate and its busiest rows. */
export function renderPlain(frame: TraceFrame, top = 4): string {
  if (frame.domains.length === 0) return `${frame.elapsed.toFixed(0)}s no KVM domain traced yet`;
  const rows = liveRows(frame);
  return frame.domains
    .map((d) => {
      const mine = rows.filter((r) => r.domain === d.domain).sort((a, b) => b.rate - a.rate);
      const perSecond = mine.reduce((a, r) => a + r.rate, 0);
      const busiest = mine
        .slice(0, top)
        .filter((r) => r.rate > 0)
        .map(
          (r) =>
            `vcpu${r.row.vcpu} ${[r.row.event, r.row.reason, r.row.target].filter(Boolean).join("/")} ${n(r.rate)}/s`,
        );
      return `${frame.elapsed.toFixed(0)}s ${d.domain} ${n(perSecond)} events/s total ${n(d.total)}${busiest.length ? `: ${busiest.join(", ")}` : ""}`;
    })
    .join("\n");
}

/** The table at the end: per domain its rows with count, share and rate, then the per-vCPU totals. */
export function renderSummary(
  domains: DomainCounts[],
  notes: { silent: readonly string[]; eventsLost: number },
  colour: boolean,
): string {
  const p = paint(colour);
  const out: string[] = domains.length === 0 ? ["no domain was traced (no KVM domain ran)", ""] : [];
  for (const d of domains) {
    const rate = d.seconds > 0 ? d.total / d.seconds : 0;
    out.push(p.bold(`${d.domain}: ${n(d.total)} events in ${d.seconds.toFixed(1)} s (${n(rate)}/s)`));
    out.push(
      p.dim(
        `${rpad("vCPU", 4)}  ${pad("EVENT", 18)} ${pad("REASON", 12)} ${pad("TARGET", 12)} ${rpad("COUNT", 12)} ${rpad("COUNT%", 7)} ${rpad("/s", 10)}`,
      ),
    );
    for (const r of d.rows)
      out.push(
        `${rpad(String(r.vcpu), 4)}  ${pad(r.event, 18)} ${pad(r.reason, 12)} ${pad(r.target, 12)} ${rpad(n(r.count), 12)} ${rpad(d.total > 0 ? ((100 * r.count) / d.total).toFixed(2) : "0.00", 7)} ${rpad(n(d.seconds > 0 ? r.count / d.seconds : 0), 10)}`,
      );
    if (d.rows.length === 0) out.push("      (no events)");
    const perVcpu = new Map<number, number>();
    for (const r of d.rows) perVcpu.set(r.vcpu, (perVcpu.get(r.vcpu) ?? 0) + r.count);
    if (perVcpu.size > 0)
      out.push(
        `per vCPU: ${[...perVcpu]
          .sort((a, b) => a[0] - b[0])
          .map(([v, c]) => `${v}: ${n(c)}`)
          .join(", ")}`,
      );
    out.push("");
  }
  out.push(...silentNote(notes.silent));
  if (notes.eventsLost > 0)
    out.push(
      p.yellow(
        `lost: ${n(notes.eventsLost)} events the kernel overwrote before they were read (counts are low)`,
      ),
    );
  return `${out.join("\n").trimEnd()}\n`;
}

/** The recent-event ring, oldest first: time, vCPU, event, reason, details. */
export function renderLog(domain: string, events: RecentEvent[]): string {
  const lines = [`recent events of ${domain} (${events.length}, oldest first):`];
  for (const e of events) {
    const details = Object.entries(e.details)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    lines.push(
      `${new Date(e.time).toISOString().slice(11, 23)}${String(Math.floor((e.time % 1) * 1000)).padStart(3, "0")}  vcpu${e.vcpu}  ${pad(e.event, 18)} ${pad(e.reason, 12)} ${details}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

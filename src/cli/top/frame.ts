/** One `top` screen (or batch frame) as text lines: the status lines, then the current view's table. */
import type { HostSample } from "../../model/types.ts";
import type { ViewSnapshot } from "../view/types.ts";
import { pickLetter, type TopState, HELP_LINES } from "./keys.ts";
import { VIEWS, viewOf } from "./columns.ts";
import { drawTable, filterDomains, sortColumn, sortRows, viewRows } from "./table.ts";
import { formatBytes, formatPercent } from "./units.ts";

export interface FrameOptions {
  width: number;
  /** Rows of the terminal; lines past it are dropped (batch frames: Infinity). */
  height: number;
  color: boolean;
  /** Why the last refresh failed (the frame still shows the data before it). */
  error?: string | null;
  delaySeconds: number;
}

const bold = (s: string, on: boolean) => (on ? `\x1b[1m${s}\x1b[22m` : s);

/** Where the numbers come from, said on the first line (agent URL, or the libvirt URI collected from here). */
export function sourceLabel(snap: ViewSnapshot): string {
  if (snap.source === "agent") return `agent ${snap.origin}`;
  if (snap.source === "server") return `server ${snap.origin}`;
  return `in-process collection from ${snap.origin} (no agent; host view only)`;
}

/** ": 2 CPUs 45.0% busy, 1.7G used of 23G memory" (usage from the host-usage collector, when it ran). */
function hostSummary(host: HostSample): string {
  const node = host.node;
  if (!node) return "";
  const ratio = host.usage?.cpuRatio ?? null;
  const busy = ratio === null ? "" : ` ${formatPercent(ratio * 100)}% busy`;
  const mem = host.usage?.memory;
  const memory = mem
    ? `${formatBytes(mem.usedBytes)} used of ${formatBytes(mem.totalBytes)}`
    : formatBytes(node.memoryBytes);
  return `: ${node.cpus} CPUs${busy}, ${memory} memory`;
}

function statusLines(snap: ViewSnapshot, s: TopState, o: FrameOptions): string[] {
  const view = viewOf(s.view, snap.hosts !== null);
  const time = new Date(snap.collectedAt).toISOString().slice(11, 19);
  const running = snap.domains.filter((d) => d.state?.active).length;
  return [
    bold(`kvmon top ${time}  source: ${sourceLabel(snap)}`, o.color),
    `${hostLine(snap)}  VMs: ${snap.domains.length}, ${running} active  view: ${view.title}  sort: ${sortColumn(view, s.sortKey).header}` +
      `${filterText(s)}  every ${o.delaySeconds}s`,
  ];
}

/** The host read, or the fleet's hosts. */
function hostLine(snap: ViewSnapshot): string {
  if (snap.hosts) {
    const down = snap.hosts.filter((h) => !h.agentUp).map((h) => h.name);
    return `fleet: ${snap.hosts.length} hosts${down.length ? ` (agent down: ${down.join(", ")})` : ""}`;
  }
  return snap.host ? `host ${snap.host.hostname ?? "?"}${hostSummary(snap.host)}` : "host ?";
}

function filterText(s: TopState): string {
  const filters = [
    s.filter.name ? `name ~ '${s.filter.name}'` : null,
    s.filter.state ? `state ${s.filter.state}` : null,
  ].filter((x) => x !== null);
  return filters.length ? `  filter: ${filters.join(", ")}` : "";
}

function promptLine(s: TopState): string {
  if (s.mode === "filter-name")
    return `filter by name (Enter applies, empty clears, Esc cancels): ${s.input}`;
  if (s.mode === "pick-sort")
    return `sort by: ${VIEWS[s.view].columns.map((c, i) => `${pickLetter(i)}) ${c.header}`).join("  ")}`;
  return "";
}

export function composeFrame(snap: ViewSnapshot, s: TopState, o: FrameOptions): string[] {
  const cut = (l: string) => (l.length > o.width && !l.includes("\x1b") ? l.slice(0, o.width) : l);
  if (s.mode === "help") return HELP_LINES.map(cut);
  const view = viewOf(s.view, snap.hosts !== null);
  const rows = sortRows(view, viewRows(view, filterDomains(snap.domains, s.filter)), s.sortKey);
  const head = [...statusLines(snap, s, o), o.error ? `refresh failed: ${o.error}` : promptLine(s)];
  const table = drawTable(view, rows, { width: o.width, sortKey: s.sortKey, color: o.color });
  if (rows.length === 0)
    table.push(
      snap.domains.length > 0
        ? "(no VM matches the filter)"
        : snap.hosts
          ? "(no VMs in the fleet: do the agents push to the server?)"
          : "(no VMs on this host)",
    );
  return [...head.map(cut), ...table].slice(0, o.height);
}

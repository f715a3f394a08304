/**
 * Prometheus text exposition (format 0.0.4) of a Snapshot: HELP/TYPE once per family, families in registry
 * order, every domain series labelled `domain` and `uuid`. Rendered once per snapshot and cached, so a scrape
 * costs a string copy; the few agent-level lines that change between snapshots are appended per scrape.
 */
import type { Collector, Emit, MetricSpec } from "../collectors/types.ts";
import type { DomainSample, Snapshot } from "../model/types.ts";
import type { AgentStatus } from "./agent.ts";
import { exposeAgent, exposeCollectorRuns, selfMetrics } from "./self-metrics.ts";
import type { ConnectionStatus } from "./source.ts";

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Escapes a label value: backslash, double quote and newline (exposition format spec). */
export function escapeLabel(v: string): string {
  // Most values need no escaping; testing first avoids three regex passes per label.
  if (!/[\\"\n]/.test(v)) return v;
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

/** Collects samples per family, then writes families in first-declared order. */
export class FamilyWriter {
  private readonly families = new Map<string, { spec: MetricSpec; lines: string[] }>();

  declare(spec: MetricSpec): void {
    if (!this.families.has(spec.name)) this.families.set(spec.name, { spec, lines: [] });
  }

  /** An Emit that prefixes `base` labels (e.g. domain, uuid) to the spec's own. */
  emitter(baseNames: readonly string[], baseValues: readonly string[]): Emit {
    // The base labels are the same for every series of a domain: format them once.
    const base = baseNames.map((n, i) => `${n}="${escapeLabel(baseValues[i]!)}"`).join(",");
    return (spec, value, labelValues = []) => {
      let fam = this.families.get(spec.name);
      if (!fam) {
        fam = { spec, lines: [] };
        this.families.set(spec.name, fam);
      }
      if (labelValues.length !== spec.labels.length) {
        throw new Error(`${spec.name}: ${labelValues.length} label values for labels [${spec.labels}]`);
      }
      let labels = base;
      for (let i = 0; i < labelValues.length; i++) {
        labels += `${labels ? "," : ""}${spec.labels[i]}="${escapeLabel(labelValues[i]!)}"`;
      }
      fam.lines.push(`${spec.name}${labels ? `{${labels}}` : ""} ${formatValue(value)}`);
    };
  }

  render(): string {
    let out = "";
    for (const { spec, lines } of this.families.values()) {
      if (lines.length === 0) continue;
      out += `# HELP ${spec.name} ${escapeHelp(spec.help)}\n# TYPE ${spec.name} ${spec.type}\n${lines.join("\n")}\n`;
    }
    return out;
  }
}

const DOMAIN_LABELS = ["domain", "uuid"] as const;

function exposeFreshness(d: DomainSample, emit: Emit): void {
  const s = d.stats;
  // Both reasons always present (0 or 1), so the series do not appear and vanish as the status changes.
  emit(selfMetrics.skipped, s.status === "partial" ? 1 : 0, ["partial"]);
  emit(selfMetrics.skipped, s.status === "missing" ? 1 : 0, ["missing"]);
  emit(selfMetrics.skippedTotal, s.skippedTotal);
  if (s.lastCompleteAt !== null) emit(selfMetrics.lastComplete, s.lastCompleteAt / 1000);
}

/** Everything derived from one snapshot (domains, host, collector runs); cache the result per snapshot. */
export function renderSnapshot(snap: Snapshot, collectors: readonly Collector[]): string {
  const w = new FamilyWriter();
  for (const c of collectors) for (const s of c.metrics) w.declare(s);
  for (const c of collectors) {
    if (c.kind === "host") {
      c.expose(snap.host, w.emitter([], []));
      continue;
    }
    for (const d of snap.domains) c.expose(d, w.emitter(DOMAIN_LABELS, [d.name, d.uuid]));
  }
  for (const d of snap.domains) exposeFreshness(d, w.emitter(DOMAIN_LABELS, [d.name, d.uuid]));
  exposeCollectorRuns(snap, w.emitter([], []));
  return w.render();
}

/**
 * The agent-level lines, rendered per scrape (connection state can change between snapshots), plus `extra`
 * families (the process metrics) when given.
 */
export function renderAgent(
  status: AgentStatus,
  conn: ConnectionStatus,
  snap: Snapshot | null,
  extra?: (emit: Emit) => void,
): string {
  const w = new FamilyWriter();
  const emit = w.emitter([], []);
  exposeAgent(status, conn, snap, emit);
  extra?.(emit);
  return w.render();
}

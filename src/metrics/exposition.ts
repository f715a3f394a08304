/**
 * Prometheus text exposition (format 0.0.4) of catalog families: HELP/TYPE once per family, families in
 * first-declared order, label values escaped. Knows nothing of where the samples come from.
 */
import { KvmonError } from "../shared/errors.ts";
import type { Emit, MetricSpec } from "./catalog.ts";

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
        throw new KvmonError(
          "METRIC_LABELS_MISMATCH",
          `${spec.name}: ${labelValues.length} label values for labels [${spec.labels}]`,
        );
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

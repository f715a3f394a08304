/**
 * The synthetic fleet: every domain carries the families the agent's domain collectors register (src/collectors
 * registry, the metric catalog), with label values a real 3-vCPU, 2-disk, 1-NIC guest gives them, plus the
 * `host`/`instance` labels naming its agent. Values move as they do on a host: counters rise by a random amount
 * each interval (and never fall; seconds counters are whole nanoseconds / 1e9, as the agent computes them),
 * ratios wander in [0, 1], byte gauges move by pages now and then, info and limit series stay constant. Timestamps are one per host per interval, with a few ms of scrape jitter.
 */
import { collectors } from "../../src/collectors/registry.ts";
import type { MetricSpec } from "../../src/metrics/catalog.ts";
import type { Labels, Series } from "../../src/server/storage/types.ts";
import { rng } from "../lib/stats.ts";

/** Values of the families' own labels; `info` labels get one plausible value. */
const LABEL_VALUES: Record<string, readonly string[]> = {
  vcpu: ["0", "1", "2"],
  device: ["vda", "vdb"],
  interface: ["vnet0"],
  counter: ["exits", "io_exits", "mmio_exits", "halt_exits", "irq_exits", "signal_exits"],
  stat: ["halt_poll_ns", "blocking"],
  state: ["running"],
  reason: ["booted"],
};

const INFO_VALUE = (label: string, domain: number) =>
  label === "project_id" || label === "user_id" ? `p${domain % 37}` : `${label}-${domain % 7}`;

type Kind = "counter-seconds" | "counter-large" | "counter-small" | "ratio" | "bytes" | "constant";

function kindOf(spec: MetricSpec): Kind {
  if (spec.type === "counter") {
    if (spec.name.endsWith("_seconds_total")) return "counter-seconds";
    return spec.name.includes("bytes") ? "counter-large" : "counter-small";
  }
  if (spec.name.endsWith("_ratio")) return "ratio";
  if (spec.name.endsWith("_bytes") && !spec.name.includes("maximum") && !spec.name.includes("capacity"))
    return "bytes";
  return "constant";
}

export interface FleetSeries {
  readonly labels: Labels;
  readonly kind: Kind;
  readonly domain: number;
  readonly host: number;
}

/** Every label combination of a family: the cartesian product of its labels' values. */
function combinations(spec: MetricSpec, domain: number): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const label of spec.labels) {
    const values = LABEL_VALUES[label] ?? [INFO_VALUE(label, domain)];
    out = out.flatMap((partial) => values.map((v) => ({ ...partial, [label]: v })));
  }
  return out;
}

export function domainName(domain: number): string {
  return `vm-${String(domain).padStart(4, "0")}`;
}

/** The series of `domains` domains, `perHost` per host (hosts host-000, host-001, ...), grouped by host. */
export function fleetSeries(
  domains: number,
  perHost: number,
  families?: (spec: MetricSpec) => boolean,
): FleetSeries[] {
  const specs = collectors
    .flatMap((c) => (c.kind === "domain" ? c.metrics : []))
    .filter((s) => families?.(s) ?? true);
  const out: FleetSeries[] = [];
  for (let d = 0; d < domains; d++) {
    const host = Math.floor(d / perHost);
    const hostName = `host-${String(host).padStart(3, "0")}`;
    const base = {
      domain: domainName(d),
      uuid: `00000000-0000-4000-8000-${String(d).padStart(12, "0")}`,
      host: hostName,
      instance: `${hostName}:9177`,
    };
    for (const spec of specs) {
      for (const own of combinations(spec, d)) {
        out.push({ labels: { __name__: spec.name, ...base, ...own }, kind: kindOf(spec), domain: d, host });
      }
    }
  }
  return out;
}

/** The fleet's values, advanced one interval at a time. */
export class FleetValues {
  readonly values: Float64Array;
  private readonly series: readonly FleetSeries[];
  private readonly random: () => number;

  constructor(series: readonly FleetSeries[], seed = 1) {
    this.series = series;
    this.random = rng(seed);
    this.values = new Float64Array(series.length);
    series.forEach((s, i) => {
      this.values[i] =
        s.kind === "ratio"
          ? this.random() * 0.5
          : s.kind === "bytes"
            ? 2 ** 30
            : s.kind === "constant"
              ? 1
              : 1000 * this.random();
    });
  }

  /** Advances every series by one interval of `intervalS` seconds. */
  step(intervalS: number): void {
    const r = this.random;
    const v = this.values;
    for (let i = 0; i < v.length; i++) {
      switch (this.series[i]!.kind) {
        case "counter-seconds": // the agent divides nanoseconds by 1e9
          v[i] = Math.round(v[i]! * 1e9 + intervalS * r() * 0.4e9) / 1e9;
          break;
        case "counter-large":
          v[i]! += Math.floor(r() * 2e6);
          break;
        case "counter-small":
          v[i]! += Math.floor(r() * 200);
          break;
        case "ratio":
          v[i] = Math.min(1, Math.max(0, v[i]! + (r() - 0.5) * 0.05));
          break;
        case "bytes":
          if (r() < 0.2) v[i]! += 4096 * Math.floor((r() - 0.5) * 64);
          break;
        case "constant":
          break;
      }
    }
  }
}

/** One scrape time per host per interval: the interval's start plus a few ms of jitter. */
export function scrapeTime(startMs: number, step: number, intervalMs: number, host: number): number {
  return startMs + step * intervalMs + ((host * 7919 + step * 104729) % 11);
}

/** The fleet's current values as one remote_write-shaped batch per host (what each agent would push). */
export function hostBatches(
  series: readonly FleetSeries[],
  values: Float64Array,
  startMs: number,
  step: number,
  intervalMs: number,
): Series[][] {
  const out: Series[][] = [];
  series.forEach((s, i) => {
    const batch = (out[s.host] ??= []);
    batch.push({
      labels: s.labels,
      samples: [{ t: scrapeTime(startMs, step, intervalMs, s.host), v: values[i]! }],
    });
  });
  return out;
}

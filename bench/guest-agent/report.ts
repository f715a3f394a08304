/** The markdown tables of bench/guest-agent: one per method and guest count, then the targets. */
import { f2, median, pct } from "../lib/stats.ts";
import type { CycleKind, CycleSample } from "./cycles.ts";

export interface MethodRun {
  method: string;
  guests: number;
  samples: CycleSample[];
}

/** The targets for the fleet (fast tier): wall per cycle and kvmon CPU per guest per cycle. */
export const TARGET_WALL_MS = 2000;
export const TARGET_CPU_MS_PER_GUEST = 1;

const KINDS: readonly CycleKind[] = ["first contact", "full", "fast"];

/** CPU per guest per cycle over a set of cycles: the total over the total (GC pauses count where they fall). */
const perGuest = (xs: CycleSample[], guests: number, f: (s: CycleSample) => number): number =>
  xs.reduce((a, s) => a + f(s), 0) / (xs.length * guests);

const ms = (x: number): string => (Number.isFinite(x) ? `${f2(x)} ms` : "—");

export function cycleTable(method: string, guests: number, samples: CycleSample[]): string {
  const rows = [
    `### ${method}, ${guests} guest${guests === 1 ? "" : "s"}`,
    "",
    "| cycle | cycles | wall median | wall max | per-guest latency p50 | p95 | kvmon CPU / guest / cycle | libvirtd CPU / guest / cycle | qemu-ga CPU / guest / cycle | failed fetches |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const kind of KINDS) {
    const xs = samples.filter((s) => s.kind === kind);
    if (xs.length === 0) continue;
    const walls = xs.map((s) => s.wallMs);
    const lat = xs.flatMap((s) => s.latencyMs);
    rows.push(
      `| ${kind} | ${xs.length} | ${ms(median(walls))} | ${ms(Math.max(...walls))} | ${ms(median(lat))} | ` +
        `${ms(pct(lat, 95))} | ${ms(perGuest(xs, guests, (s) => s.kvmonCpuMs))} | ` +
        `${ms(perGuest(xs, guests, (s) => s.libvirtdCpuMs))} | ${ms(perGuest(xs, guests, (s) => s.agentsCpuMs))} | ` +
        `${xs.reduce((a, s) => a + s.failed, 0)} |`,
    );
  }
  return rows.join("\n");
}

export function targetsTable(fleet: MethodRun, libvirt: MethodRun | undefined): string {
  const fast = fleet.samples.filter((s) => s.kind === "fast");
  const walls = fast.map((s) => s.wallMs);
  const wallMax = Math.max(...walls);
  const cpu = perGuest(fast, fleet.guests, (s) => s.kvmonCpuMs);
  const yes = (ok: boolean) => (ok ? "yes" : "**no**");
  const rows = [
    `### Targets (fast tier, ${fleet.guests} agents, ${fleet.method})`,
    "",
    "| target | measured | met |",
    "|---|---:|---|",
    `| full fast-tier cycle of ${fleet.guests} agents within ${TARGET_WALL_MS / 1000} s wall | max ${ms(wallMax)} (median ${ms(median(walls))}) | ${yes(wallMax <= TARGET_WALL_MS)} |`,
    `| kvmon CPU per guest per cycle under ${TARGET_CPU_MS_PER_GUEST} ms | ${ms(cpu)} | ${yes(cpu < TARGET_CPU_MS_PER_GUEST)} |`,
  ];
  if (libvirt) {
    const lf = libvirt.samples.filter((s) => s.kind === "fast");
    const lcpu = perGuest(lf, libvirt.guests, (s) => s.kvmonCpuMs);
    rows.push(
      `| ${libvirt.method}: kvmon CPU per guest per cycle under ${TARGET_CPU_MS_PER_GUEST} ms | ${ms(lcpu)} | ${yes(lcpu < TARGET_CPU_MS_PER_GUEST)} |`,
      `| ${libvirt.method}: libvirtd CPU per guest per cycle (reported beside it) | ${ms(perGuest(lf, libvirt.guests, (s) => s.libvirtdCpuMs))} | — |`,
    );
  }
  return rows.join("\n");
}

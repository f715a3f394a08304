/**
 * In-guest CPU shares and load averages. CPU: guest-get-cpustats (qemu-ga 7.1+, Linux; ticks per CPU), else
 * the "cpu" line of /proc/stat through the guest-file commands; shares are tick deltas between two reads over
 * the delta of all ticks, so the first read gives null shares. Load: guest-get-load (qemu-ga 10.0+), else
 * /proc/loadavg.
 */
import type { GuestCpu, GuestLoad } from "../../model/types.ts";
import { QgaCommands } from "../../protocol/qga/index.ts";
import { type GuestCall, readProcFile } from "./call.ts";
import { GuestDataError, guestCount } from "./limits.ts";

export const CPU_MODES = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"] as const;
export type CpuMode = (typeof CPU_MODES)[number];

/** Cumulative ticks per mode, summed over the guest's CPUs. */
export interface CpuTicks {
  ticks: Record<CpuMode, number>;
  source: GuestCpu["source"];
}

export async function readCpuTicks(g: GuestCall): Promise<CpuTicks | null> {
  if (g.has("guest-get-cpustats")) {
    const cpus = await g.qga.call(QgaCommands.cpuStats, undefined, { timeoutMs: g.timeoutMs });
    const ticks = zeroTicks();
    for (const c of cpus)
      for (const m of CPU_MODES) ticks[m] += c[m] === undefined ? 0 : guestCount(c[m], `cpu ${m}`);
    return { ticks, source: "cpustats" };
  }
  const stat = await readProcFile(g, "/proc/stat", 64 * 1024);
  return stat === null ? null : { ticks: parseProcStat(stat), source: "proc-stat" };
}

/** The aggregate "cpu" line of /proc/stat. */
export function parseProcStat(text: string): Record<CpuMode, number> {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) throw new GuestDataError("/proc/stat: no aggregate cpu line");
  const fields = line.trim().split(/\s+/).slice(1);
  const ticks = zeroTicks();
  CPU_MODES.forEach((m, i) => {
    const v = fields[i];
    if (v === undefined) return;
    if (!/^\d{1,20}$/.test(v))
      throw new GuestDataError(`/proc/stat: cpu ${m} '${v.slice(0, 32)}' is not a count`);
    ticks[m] = Number(v);
  });
  return ticks;
}

function zeroTicks(): Record<CpuMode, number> {
  return { user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0 };
}

/** Shares of each mode between two reads; null shares on the first read or when no tick passed. */
export function cpuShares(now: CpuTicks, prev: CpuTicks | undefined): GuestCpu {
  const out: GuestCpu = {
    user: null,
    nice: null,
    system: null,
    idle: null,
    iowait: null,
    irq: null,
    softirq: null,
    steal: null,
    source: now.source,
  };
  if (!prev || prev.source !== now.source) return out;
  const delta = (m: CpuMode) => Math.max(0, now.ticks[m] - prev.ticks[m]);
  const total = CPU_MODES.reduce((s, m) => s + delta(m), 0);
  if (total <= 0) return out;
  for (const m of CPU_MODES) out[m] = delta(m) / total;
  return out;
}

export async function readLoad(g: GuestCall): Promise<GuestLoad | null> {
  if (g.has("guest-get-load")) {
    const l = await g.qga.call(QgaCommands.load, undefined, { timeoutMs: g.timeoutMs });
    return checkLoad({ load1: l.load1, load5: l.load5, load15: l.load15, source: "get-load" });
  }
  const text = await readProcFile(g, "/proc/loadavg", 4096);
  if (text === null) return null;
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  return checkLoad({
    load1: a ?? Number.NaN,
    load5: b ?? Number.NaN,
    load15: c ?? Number.NaN,
    source: "proc-loadavg",
  });
}

function checkLoad(l: GuestLoad): GuestLoad {
  for (const v of [l.load1, l.load5, l.load15]) {
    if (!(Number.isFinite(v) && v >= 0 && v < 1e9))
      throw new GuestDataError(`load average ${v} out of range`);
  }
  return l;
}

/**
 * Host CPU and memory usage: libvirt's node CPU stats (CPU time of all host CPUs by mode) and node memory stats
 * (total, free, buffers, cached), one call each per interval, so the fleet sees how busy and how full each host
 * is without a node_exporter beside the agent. The busy ratio is derived here from two samples; memory used is
 * what neither free, buffers nor the page cache hold.
 */
import { gauge, counter } from "../metrics/catalog.ts";
import { counterValue } from "../model/rate.ts";
import type { CounterValue, HostMemoryUsage, HostUsage } from "../model/types.ts";
import { LibvirtError } from "../protocol/libvirt/index.ts";
import type { HostCollector } from "./types.ts";

/** CPU modes that are not work: the rest (kernel, user, and whatever else a driver reports) is busy time. */
const IDLE_MODES = new Set(["idle", "iowait"]);

const m = {
  cpuSeconds: counter("kvmon_host_cpu_seconds_total", "CPU time of all host CPUs, by mode.", {
    labels: ["mode"],
    source: "virNodeGetCPUStats(VIR_NODE_CPU_STATS_ALL_CPUS): kernel, user, idle, iowait (ns)",
  }),
  cpuRatio: gauge(
    "kvmon_host_cpu_usage_ratio",
    "Busy share of all host CPUs over the last interval (1 = every CPU busy): modes other than idle and iowait over all modes.",
    { source: "virNodeGetCPUStats, two samples" },
  ),
  free: gauge("kvmon_host_memory_free_bytes", "Host memory not used at all.", {
    source: "virNodeGetMemoryStats(VIR_NODE_MEMORY_STATS_ALL_CELLS) free (KiB)",
  }),
  buffers: gauge("kvmon_host_memory_buffers_bytes", "Host memory in block-device buffers.", {
    source: "virNodeGetMemoryStats buffers (KiB)",
  }),
  cached: gauge("kvmon_host_memory_cached_bytes", "Host memory in the page cache.", {
    source: "virNodeGetMemoryStats cached (KiB)",
  }),
  used: gauge(
    "kvmon_host_memory_used_bytes",
    "Host memory used: total minus free, buffers and cached (the total is kvmon_host_memory_bytes).",
    { source: "virNodeGetMemoryStats total - free - buffers - cached" },
  ),
};

/**
 * A call the connection's driver does not implement answers null (libvirt's test driver has CPU stats but no
 * memory stats): that part of the usage is unknown, not a failure every interval. Other errors fail the collector.
 */
async function unlessUnsupported<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (e) {
    if (e instanceof LibvirtError && e.isNoSupport()) return null;
    throw e;
  }
}

const NS_PER_SECOND = 1e9;
const KIB = 1024;

/**
 * CPU seconds by mode with rates against the previous sample; a mode that went backwards counts as a reset.
 * @example cpuSeconds(new Map([["idle", 3_000_000_000n]]), undefined, null) // { idle: { total: 3, perSecond: null } }
 */
export function cpuSeconds(
  stats: ReadonlyMap<string, bigint>,
  previous: Record<string, CounterValue> | undefined,
  elapsedSeconds: number | null,
): Record<string, CounterValue> {
  const out: Record<string, CounterValue> = {};
  for (const [mode, ns] of stats) {
    out[mode] = counterValue(Number(ns) / NS_PER_SECOND, previous?.[mode], elapsedSeconds);
  }
  return out;
}

/** Busy share of all CPUs between two samples; null without a previous one, or when a mode went backwards. */
export function cpuBusyRatio(
  current: Record<string, CounterValue>,
  previous: Record<string, CounterValue> | undefined,
): number | null {
  if (!previous) return null;
  let all = 0;
  let busy = 0;
  for (const [mode, v] of Object.entries(current)) {
    const before = previous[mode]?.total;
    if (before === undefined || v.total < before) return null;
    all += v.total - before;
    if (!IDLE_MODES.has(mode)) busy += v.total - before;
  }
  return all > 0 ? busy / all : null;
}

/** Memory in bytes from libvirt's KiB fields; null without total and free. */
export function memoryUsage(stats: ReadonlyMap<string, bigint>): HostMemoryUsage | null {
  const bytes = (field: string) => {
    const v = stats.get(field);
    return v === undefined ? null : Number(v) * KIB;
  };
  const totalBytes = bytes("total");
  const freeBytes = bytes("free");
  if (totalBytes === null || freeBytes === null) return null;
  const buffersBytes = bytes("buffers");
  const cachedBytes = bytes("cached");
  const usedBytes = Math.max(0, totalBytes - freeBytes - (buffersBytes ?? 0) - (cachedBytes ?? 0));
  return { totalBytes, freeBytes, buffersBytes, cachedBytes, usedBytes };
}

export const hostUsageCollector: HostCollector = {
  kind: "host",
  name: "host-usage",
  description: "host CPU time by mode and busy ratio, host memory free/buffers/cached/used",
  defaultEnabled: true,
  statsGroups: 0,
  metrics: Object.values(m),
  async collect(input, out) {
    const q = input.queries;
    const [cpu, memory] = await Promise.all([
      unlessUnsupported(q.nodeCpuStats()),
      unlessUnsupported(q.nodeMemoryStats()),
    ]);
    if (cpu === null && memory === null) return;
    const before = input.previous?.usage ?? undefined;
    const elapsed = before ? (input.now - before.sampledAt) / 1000 : null;
    const seconds = cpuSeconds(cpu ?? new Map(), before?.cpuSeconds, elapsed);
    const usage: HostUsage = {
      sampledAt: input.now,
      cpuSeconds: seconds,
      cpuRatio: cpuBusyRatio(seconds, before?.cpuSeconds),
      memory: memory === null ? null : memoryUsage(memory),
    };
    out.usage = usage;
  },
  expose(host, emit) {
    const u = host.usage;
    if (!u) return;
    for (const [mode, v] of Object.entries(u.cpuSeconds)) emit(m.cpuSeconds, v.total, [mode]);
    if (u.cpuRatio !== null) emit(m.cpuRatio, u.cpuRatio);
    const mem = u.memory;
    if (!mem) return;
    emit(m.free, mem.freeBytes);
    if (mem.buffersBytes !== null) emit(m.buffers, mem.buffersBytes);
    if (mem.cachedBytes !== null) emit(m.cached, mem.cachedBytes);
    emit(m.used, mem.usedBytes);
  },
};

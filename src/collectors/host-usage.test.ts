import assert from "node:assert/strict";
import { test } from "node:test";
import type { Emit } from "../metrics/catalog.ts";
import type { HostSample } from "../model/types.ts";
import { cpuBusyRatio, cpuSeconds, hostUsageCollector, memoryUsage } from "./host-usage.ts";
import { emptyHostSample } from "./sample.ts";
import type { HostInput, HostQueries } from "./types.ts";
import { ErrorCode, LibvirtError } from "../protocol/libvirt/index.ts";
import { NO_ERROR_DETAILS } from "../protocol/libvirt/testing/mock-libvirtd.ts";

/** Two `virsh nodecpustats` reads of a lab host 10 s apart (ns), and its `virsh nodememstats` (KiB). */
const CPU = [
  { kernel: 4099670000000n, user: 15235340000000n, idle: 33500740000000n, iowait: 66020000000n },
  { kernel: 4105190000000n, user: 15250070000000n, idle: 33500750000000n, iowait: 66030000000n },
];
const MEMORY = { total: 24684084n, free: 21468512n, buffers: 38304n, cached: 1416000n };

function queries(cpu: Record<string, bigint> | Error, memory: Record<string, bigint> | Error): HostQueries {
  const no = () => Promise.reject(new Error("not asked"));
  const answer = async (r: Record<string, bigint> | Error) => {
    if (r instanceof Error) throw r;
    return new Map(Object.entries(r));
  };
  return {
    hostname: no,
    nodeInfo: no,
    libVersion: no,
    hypervisorVersion: no,
    nodeCpuStats: () => answer(cpu),
    nodeMemoryStats: () => answer(memory),
  };
}

/** A daemon error as the client raises it (virErrorNumber `code`). */
const libvirtError = (code: number, message: string) =>
  new LibvirtError({ ...NO_ERROR_DETAILS, domain: 7, code, message });
const NO_SUPPORT = libvirtError(
  ErrorCode.NO_SUPPORT,
  "this function is not supported by the connection driver",
);

async function collect(q: HostQueries, previous: HostSample | undefined, now: number): Promise<HostSample> {
  const input: HostInput = { queries: q, records: [], previous, now };
  const out = emptyHostSample();
  await hostUsageCollector.collect(input, out);
  return out;
}

test("two samples: CPU seconds with rates over the measured time, a busy ratio, memory in bytes", async () => {
  const first = await collect(queries(CPU[0]!, MEMORY), undefined, 1_000_000);
  assert.equal(first.usage!.cpuRatio, null, "no ratio from one sample");
  assert.deepEqual(first.usage!.cpuSeconds.kernel, { total: 4099.67, perSecond: null });
  const second = await collect(queries(CPU[1]!, MEMORY), first, 1_010_000);
  const u = second.usage!;
  assert.equal(u.sampledAt, 1_010_000);
  // By hand: kernel +5.52 s, user +14.73 s, idle +0.01 s, iowait +0.01 s over 10 s.
  assert.ok(Math.abs(u.cpuSeconds.kernel!.perSecond! - 0.552) < 1e-9);
  assert.ok(Math.abs(u.cpuSeconds.user!.perSecond! - 1.473) < 1e-9);
  assert.ok(Math.abs(u.cpuRatio! - (5.52 + 14.73) / (5.52 + 14.73 + 0.01 + 0.01)) < 1e-9);
  assert.deepEqual(u.memory, {
    totalBytes: 24684084 * 1024,
    freeBytes: 21468512 * 1024,
    buffersBytes: 38304 * 1024,
    cachedBytes: 1416000 * 1024,
    usedBytes: (24684084 - 21468512 - 38304 - 1416000) * 1024,
  });
});

test("a counter that went backwards (host rebooted under a kept connection) gives no ratio, a reset rate", () => {
  const before = cpuSeconds(new Map(Object.entries(CPU[1]!)), undefined, null);
  const after = cpuSeconds(new Map(Object.entries(CPU[0]!)), before, 10);
  assert.equal(cpuBusyRatio(after, before), null);
  assert.equal(after.idle!.perSecond, 33500.74 / 10, "counted from zero, as Prometheus does");
  // A mode the previous sample lacked: no ratio rather than a wrong one.
  const { iowait: _gone, ...three } = before;
  assert.equal(cpuBusyRatio(before, three), null);
  // No time passed at all: no ratio (0/0).
  assert.equal(cpuBusyRatio(before, before), null);
});

test("memory: one NUMA cell (total and free only) has no buffers or cached; too few fields is null", () => {
  assert.deepEqual(
    memoryUsage(
      new Map([
        ["total", 4n],
        ["free", 1n],
      ]),
    ),
    { totalBytes: 4096, freeBytes: 1024, buffersBytes: null, cachedBytes: null, usedBytes: 3072 },
  );
  assert.equal(memoryUsage(new Map([["total", 4n]])), null);
});

test("a failed call fails the collector (the framework isolates it) and leaves no usage", async () => {
  await assert.rejects(collect(queries(CPU[0]!, new Error("libvirt down")), undefined, 0), /libvirt down/);
  const internal = libvirtError(ErrorCode.INTERNAL_ERROR, "cannot read /proc/meminfo");
  await assert.rejects(collect(queries(internal, MEMORY), undefined, 0), /cannot read/);
});

test("a driver without one of the calls (libvirt's test driver: no memory stats): that part null, no failure", async () => {
  const noMemory = await collect(queries(CPU[0]!, NO_SUPPORT), undefined, 0);
  assert.equal(noMemory.usage!.memory, null);
  assert.equal(noMemory.usage!.cpuSeconds.idle!.total, 33500.74);
  const noCpu = await collect(queries(NO_SUPPORT, MEMORY), noMemory, 10_000);
  assert.deepEqual([noCpu.usage!.cpuSeconds, noCpu.usage!.cpuRatio], [{}, null]);
  assert.equal(noCpu.usage!.memory!.totalBytes, 24684084 * 1024);
  assert.equal((await collect(queries(NO_SUPPORT, NO_SUPPORT), undefined, 0)).usage, null);
});

test("expose: CPU seconds by mode, the ratio once known, memory; nothing without usage", async () => {
  const first = await collect(queries(CPU[0]!, MEMORY), undefined, 0);
  const second = await collect(queries(CPU[1]!, MEMORY), first, 10_000);
  const lines: string[] = [];
  const emit: Emit = (spec, value, labels = []) => lines.push(`${spec.name}{${labels.join(",")}} ${value}`);
  hostUsageCollector.expose(first, emit);
  assert.ok(!lines.some((l) => l.startsWith("kvmon_host_cpu_usage_ratio")), "no ratio from one sample");
  lines.length = 0;
  hostUsageCollector.expose(second, emit);
  assert.deepEqual(lines, [
    "kvmon_host_cpu_seconds_total{kernel} 4105.19",
    "kvmon_host_cpu_seconds_total{user} 15250.07",
    "kvmon_host_cpu_seconds_total{idle} 33500.75",
    "kvmon_host_cpu_seconds_total{iowait} 66.03",
    `kvmon_host_cpu_usage_ratio{} ${second.usage!.cpuRatio}`,
    `kvmon_host_memory_free_bytes{} ${21468512 * 1024}`,
    `kvmon_host_memory_buffers_bytes{} ${38304 * 1024}`,
    `kvmon_host_memory_cached_bytes{} ${1416000 * 1024}`,
    `kvmon_host_memory_used_bytes{} ${second.usage!.memory!.usedBytes}`,
  ]);
  lines.length = 0;
  hostUsageCollector.expose(emptyHostSample(), emit);
  assert.deepEqual(lines, []);
});

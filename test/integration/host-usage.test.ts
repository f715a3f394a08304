/**
 * Host CPU and memory usage on the lab's host, against two witnesses read around each call: the host's own
 * /proc/stat and /proc/meminfo, and `virsh nodecpustats` / `virsh nodememstats` (the C library). CPU time only
 * grows, so a value read between two witness reads lies between them; memory moves both ways, so it is checked
 * within the witnesses' range plus a slack for what other processes on this shared host allocate meanwhile.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { labAgent, SYSTEM_URI } from "../agent-helpers.ts";
import { exec, virsh, withClient } from "../libvirt-helpers.ts";
import type { Agent } from "../../src/agent/agent.ts";
import { renderSnapshot } from "../../src/agent/exposition.ts";
import { Logger } from "../../src/agent/log.ts";
import { collectors } from "../../src/collectors/registry.ts";
import type { HostUsage } from "../../src/model/types.ts";
import { LibvirtError } from "../../src/protocol/libvirt/index.ts";

/** What other processes may allocate or free between the witness reads and libvirt's (this host is shared). */
const MEMORY_SLACK_KIB = 64 * 1024;

let nsPerTick = 0;
before(async () => {
  nsPerTick = 1e9 / Number((await exec("getconf", ["CLK_TCK"])).stdout.trim());
});

/** The aggregate `cpu` line of /proc/stat as libvirt sums it (virhostcpu.c), in ns. */
async function procStat(): Promise<Record<string, number>> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n").find((l) => l.startsWith("cpu "))!;
  const [user, nice, system, idle, iowait, irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return {
    kernel: (system + irq + softirq) * nsPerTick,
    user: (user + nice) * nsPerTick,
    idle: idle * nsPerTick,
    iowait: iowait * nsPerTick,
  };
}

/** /proc/meminfo's MemTotal, MemFree, Buffers and Cached in KiB, under libvirt's field names. */
async function procMeminfo(): Promise<Record<string, number>> {
  const text = await readFile("/proc/meminfo", "utf8");
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(text)![1]);
  return { total: kib("MemTotal"), free: kib("MemFree"), buffers: kib("Buffers"), cached: kib("Cached") };
}

/** `virsh nodecpustats` (virsh calls the kernel mode "system") in ns. */
async function virshCpu(): Promise<Record<string, number>> {
  const out = await virsh(SYSTEM_URI, "-r", "nodecpustats");
  const r: Record<string, number> = {};
  for (const m of out.matchAll(/^\s*(\w+):\s+(\d+)\s*$/gm))
    r[m[1] === "system" ? "kernel" : m[1]!] = Number(m[2]);
  return r;
}

/** `virsh nodememstats` in KiB. */
async function virshMemory(): Promise<Record<string, number>> {
  const out = await virsh(SYSTEM_URI, "-r", "nodememstats");
  const r: Record<string, number> = {};
  for (const m of out.matchAll(/^\s*(\w+)\s*:\s+(\d+) KiB\s*$/gm)) r[m[1]!] = Number(m[2]);
  return r;
}

function between(what: string, value: number, lo: number, hi: number, slack = 0): void {
  assert.ok(
    value >= lo - slack && value <= hi + slack,
    `${what}: ${value} not within [${lo}, ${hi}] ± ${slack}`,
  );
}

function memoryWithin(
  what: string,
  got: Record<string, number>,
  a: Record<string, number>,
  b: Record<string, number>,
) {
  assert.equal(got.total, a.total, `${what} total`);
  for (const f of ["free", "buffers", "cached"]) {
    const lo = Math.min(a[f]!, b[f]!);
    const hi = Math.max(a[f]!, b[f]!);
    between(`${what} ${f} (KiB)`, got[f]!, lo, hi, MEMORY_SLACK_KIB);
  }
}

test("the client's node CPU stats lie between two reads of /proc/stat and of virsh nodecpustats", async () => {
  await withClient(SYSTEM_URI, { readOnly: true }, async (c) => {
    for (let round = 0; round < 2; round++) {
      // Round 0 also asks the field count; round 1 is the one round trip the agent makes per interval.
      const [procBefore, virshBefore] = [await procStat(), await virshCpu()];
      const got = await c.nodeCpuStats();
      const [virshAfter, procAfter] = [await virshCpu(), await procStat()];
      assert.deepEqual([...got.keys()].sort(), ["idle", "iowait", "kernel", "user"]);
      for (const [mode, ns] of got) {
        between(`${mode} vs /proc/stat`, Number(ns), procBefore[mode]!, procAfter[mode]!);
        between(`${mode} vs virsh`, Number(ns), virshBefore[mode]!, virshAfter[mode]!);
      }
    }
  });
});

test("the client's node memory stats match /proc/meminfo and virsh nodememstats", async () => {
  await withClient(SYSTEM_URI, { readOnly: true }, async (c) => {
    const [procBefore, virshBefore] = [await procMeminfo(), await virshMemory()];
    const got = Object.fromEntries([...(await c.nodeMemoryStats())].map(([k, v]) => [k, Number(v)]));
    const [virshAfter, procAfter] = [await virshMemory(), await procMeminfo()];
    assert.deepEqual(Object.keys(got).sort(), ["buffers", "cached", "free", "total"]);
    memoryWithin("vs /proc/meminfo", got, procBefore, procAfter);
    memoryWithin("vs virsh", got, virshBefore, virshAfter);
    // One NUMA cell: total and free only (libvirt reads the cell's own meminfo).
    const cell = await c.nodeMemoryStats(0);
    assert.deepEqual([...cell.keys()].sort(), ["free", "total"]);
  });
});

test("libvirt's test driver has node CPU stats but no memory stats: NO_SUPPORT, which the collector skips", async () => {
  await withClient("test+unix:///default", {}, async (c) => {
    assert.deepEqual([...(await c.nodeCpuStats()).keys()].sort(), ["idle", "iowait", "kernel", "user"]);
    await assert.rejects(c.nodeMemoryStats(), (e) => e instanceof LibvirtError && e.isNoSupport());
  });
});

let agent: Agent;
before(async () => {
  agent = await labAgent(new Logger(() => {}, "error"));
});
after(() => agent.stop());

/** One collection with /proc read just before and after it. */
async function tickBetween(): Promise<{
  usage: HostUsage;
  cpu: Record<string, number>[];
  mem: Record<string, number>[];
}> {
  const [cpuBefore, memBefore] = [await procStat(), await procMeminfo()];
  await agent.tick();
  const [memAfter, cpuAfter] = [await procMeminfo(), await procStat()];
  const usage = agent.snapshot()?.host.usage;
  assert.ok(usage, `host usage in the snapshot (${JSON.stringify(agent.snapshot()?.collectors)})`);
  return { usage, cpu: [cpuBefore, cpuAfter], mem: [memBefore, memAfter] };
}

test("the agent's host usage: CPU seconds, busy ratio and memory agree with /proc around its collections", async () => {
  const first = await tickBetween();
  await sleep(1500);
  const second = await tickBetween();
  for (const { usage, cpu, mem } of [first, second]) {
    assert.deepEqual(Object.keys(usage.cpuSeconds).sort(), ["idle", "iowait", "kernel", "user"]);
    for (const [mode, v] of Object.entries(usage.cpuSeconds)) {
      between(`agent ${mode} seconds`, v.total * 1e9, cpu[0]![mode]!, cpu[1]![mode]!, 1000);
    }
    const m = usage.memory!;
    const kib = { total: m.totalBytes, free: m.freeBytes, buffers: m.buffersBytes!, cached: m.cachedBytes! };
    memoryWithin(
      "agent memory",
      Object.fromEntries(Object.entries(kib).map(([k, v]) => [k, v / 1024])),
      mem[0]!,
      mem[1]!,
    );
    assert.equal(m.usedBytes, m.totalBytes - m.freeBytes - m.buffersBytes! - m.cachedBytes!);
  }
  // The busy ratio over the two collections lies between the busiest and idlest reading the witnesses allow.
  const sum = (r: Record<string, number>, modes: string[]) => modes.reduce((a, k) => a + r[k]!, 0);
  const all = ["kernel", "user", "idle", "iowait"];
  const busy = ["kernel", "user"];
  const [b1, a1] = first.cpu as [Record<string, number>, Record<string, number>];
  const [b2, a2] = second.cpu as [Record<string, number>, Record<string, number>];
  const lo = (sum(b2, busy) - sum(a1, busy)) / (sum(a2, all) - sum(b1, all));
  const hi = (sum(a2, busy) - sum(b1, busy)) / (sum(b2, all) - sum(a1, all));
  const ratio = second.usage.cpuRatio;
  assert.ok(ratio !== null, "a busy ratio from the second collection");
  between("busy ratio", ratio, Math.max(0, lo), Math.min(1, hi), 1e-9);
  assert.equal(first.usage.cpuRatio, null, "no ratio from the first collection");
  for (const mode of all) {
    const rate = second.usage.cpuSeconds[mode]!.perSecond;
    assert.ok(rate !== null && rate >= 0, `${mode} rate ${rate}`);
  }
  // /metrics renders the same values.
  const text = renderSnapshot(agent.snapshot()!, collectors);
  const idle = second.usage.cpuSeconds.idle!.total;
  assert.match(text, new RegExp(`^kvmon_host_cpu_seconds_total\\{mode="idle"\\} ${idle}$`, "m"));
  assert.match(text, new RegExp(`^kvmon_host_cpu_usage_ratio ${ratio}$`, "m"));
  assert.match(text, new RegExp(`^kvmon_host_memory_used_bytes ${second.usage.memory!.usedBytes}$`, "m"));
});

/**
 * What the host-usage collector costs per interval: the agent's collection of the lab in this process with every
 * collector and with all but `host-usage`, interleaved tick by tick (A, B, A, B, ...) so both see the same load
 * on this shared machine; our CPU and wall time per collection (+ render of /metrics), libvirtd's CPU per
 * collection (its threads' schedstat around each tick), and the round trip of the two node-stats calls alone.
 *
 *   .tools/node/bin/node bench/agent/host-usage.ts [--ticks 40] [--uri qemu:///system]
 *
 * Needs root and the lab's libvirtd up. Loopback only; every loop is bounded.
 */
import { LibvirtSource } from "../../src/agent/libvirt-source.ts";
import { collectors } from "../../src/collectors/registry.ts";
import { LibvirtClient } from "../../src/protocol/libvirt/index.ts";
import { benchArgs } from "../lib/cli.ts";
import { libvirtdCpuMs } from "../lib/cpu.ts";
import { waitFor } from "../lib/http.ts";
import { f2, median, pct } from "../lib/stats.ts";
import { measureTicks, quietAgent, type TickCost } from "./scale.ts";

const opt = benchArgs("bench/agent/host-usage.ts", {
  numbers: { ticks: 40 },
  strings: { uri: "qemu:///system" },
});

function agentOn(uri: string, withUsage: boolean) {
  const source = new LibvirtSource({ uri, readOnly: true, callTimeoutMs: 5000, connectTimeoutMs: 5000 });
  const only = collectors.filter((c) => withUsage || c.name !== "host-usage");
  return { source, agent: quietAgent(source, undefined, only) };
}

const runs = { with: agentOn(opt.uri, true), without: agentOn(opt.uri, false) };
const cost: Record<keyof typeof runs, TickCost & { libvirtd: number[] }> = {
  with: { cpu: [], wall: [], series: 0, libvirtd: [] },
  without: { cpu: [], wall: [], series: 0, libvirtd: [] },
};
try {
  for (const r of Object.values(runs)) r.source.start();
  await waitFor("lab connection", async () =>
    Object.values(runs).every((r) => r.source.connection().connected) ? true : undefined,
  );
  for (const r of Object.values(runs)) await measureTicks(r.agent, 0);
  for (let i = 0; i < opt.ticks; i++) {
    for (const k of i % 2 === 0 ? (["with", "without"] as const) : (["without", "with"] as const)) {
      const l0 = libvirtdCpuMs();
      const one = await measureTicks(runs[k].agent, 1, undefined, 0);
      cost[k].libvirtd.push(libvirtdCpuMs() - l0);
      cost[k].cpu.push(...one.cpu);
      cost[k].wall.push(...one.wall);
      cost[k].series = one.series;
    }
  }
} finally {
  for (const r of Object.values(runs)) await r.agent.stop();
}

// The two calls alone, as the collector makes them (concurrently), after the first (which also asks the counts).
const client = await LibvirtClient.open(opt.uri, { readOnly: true, keepalive: false });
const calls: number[] = [];
const callsLibvirtd: number[] = [];
try {
  for (let i = 0; i < opt.ticks + 1; i++) {
    const l0 = libvirtdCpuMs();
    const t0 = performance.now();
    await Promise.all([client.nodeCpuStats(), client.nodeMemoryStats()]);
    if (i === 0) continue;
    calls.push(performance.now() - t0);
    callsLibvirtd.push(libvirtdCpuMs() - l0);
  }
} finally {
  await client.close();
}

const row = (k: keyof typeof cost) => {
  const c = cost[k];
  return `| ${k} host-usage | ${c.series} | ${f2(median(c.cpu))} ms | ${f2(pct(c.cpu, 95))} ms | ${f2(median(c.wall))} ms | ${f2(median(c.libvirtd))} ms |`;
};
console.log(
  [
    `${opt.ticks} collections each of the lab (${runs.with.agent.snapshot()!.domains.length} domains), interleaved, in one process (${new Date().toISOString().slice(0, 16)}Z):`,
    "",
    "| agent | series | CPU/collection median | CPU p95 | wall median | libvirtd CPU/collection median |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    row("with"),
    row("without"),
    "",
    `NODE_GET_CPU_STATS + NODE_GET_MEMORY_STATS together (concurrent, counts already known): median ${f2(median(calls))} ms, ` +
      `p95 ${f2(pct(calls, 95))} ms wall; libvirtd CPU around them median ${f2(median(callsLibvirtd))} ms ` +
      "(libvirtd's CPU includes whatever other clients asked meanwhile: on a shared host, an upper bound).",
  ].join("\n"),
);

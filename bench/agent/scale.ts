/**
 * bench/agent's many-domain part: the agent in this process (collect + render /metrics, CPU from
 * process.cpuUsage) with N domains from
 *   a. libvirt's test driver behind the same libvirtd (`test+unix:///<node.xml>`, lib/test-driver.ts): the real
 *      path (RPC, decode, collectors, snapshot, exposition), but its bulk stats carry the state group only;
 *      once with one disk and one NIC per domain, once with varied devices (the metadata XML differs);
 *   b. a synthetic reply: recorded real replies (src/collectors/fixtures: a lab TCG guest, and a KVM guest with
 *      its ~90 KVM counters) multiplied to N domains with their XML metadata, over an in-memory source, two
 *      recorded samples alternating so rates are computed: the collectors' and exposition's full work. RPC
 *      decode of such a reply is measured in bench/libvirt-client.
 * Plus the agent's collection of the lab itself, in process (labTickCost).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Agent } from "../../src/agent/agent.ts";
import { renderSnapshot } from "../../src/agent/exposition.ts";
import { LibvirtSource } from "../../src/agent/libvirt-source.ts";
import { Logger, ProblemLog } from "../../src/agent/log.ts";
import { FakeSource } from "../../src/agent/testing/fake-source.ts";
import { collectors } from "../../src/collectors/registry.ts";
import { loadStats, loadXml } from "../../src/collectors/fixtures/load.ts";
import type { Collector } from "../../src/collectors/types.ts";
import type { DomainStatsRecord, TypedParamValue } from "../../src/protocol/libvirt/types.ts";
import { libvirtdCpuMs } from "../lib/cpu.ts";
import { waitFor } from "../lib/http.ts";
import { f2, median, pct } from "../lib/stats.ts";
import { testDriverNode } from "../lib/test-driver.ts";

/** An agent that logs nothing, with every registered collector unless `only` picks some. */
export function quietAgent(
  source: ConstructorParameters<typeof Agent>[0]["source"],
  clock?: () => number,
  only: readonly Collector[] = collectors,
) {
  const logger = new Logger(() => {}, "error");
  return new Agent({
    source,
    collectors: only,
    intervalMs: 10_000,
    timeoutMs: 30_000,
    logger,
    problems: new ProblemLog(logger),
    clock,
  });
}

export interface TickCost {
  cpu: number[]; // ms per tick (collect + render)
  wall: number[];
  series: number;
}

/** Runs `ticks` collections (plus `warmup`), each followed by the exposition render, as the first scrape does. */
export async function measureTicks(
  agent: Agent,
  ticks: number,
  between?: () => void,
  warmup = 3,
): Promise<TickCost> {
  const r: TickCost = { cpu: [], wall: [], series: 0 };
  for (let i = 0; i < ticks + warmup; i++) {
    between?.();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await agent.tick();
    const snap = agent.snapshot();
    if (!snap) throw new Error(`no snapshot: ${agent.status.lastError}`);
    const text = renderSnapshot(snap, agent.collectors);
    const c = process.cpuUsage(c0);
    if (i >= warmup) {
      r.cpu.push((c.user + c.system) / 1000);
      r.wall.push(performance.now() - t0);
    }
    r.series = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
    if (i === warmup - 1) await sleep(500); // let background metadata reads settle after the first collections
  }
  return r;
}

async function testDriverCost(n: number, ticks: number, varied: boolean): Promise<TickCost> {
  const node = testDriverNode(n, varied);
  const uri = node.uri;
  const source = new LibvirtSource({
    uri,
    readOnly: false,
    callTimeoutMs: 30_000,
    connectTimeoutMs: 10_000,
  });
  const agent = quietAgent(source);
  try {
    source.start();
    await waitFor(`test driver (${n} domains)`, async () =>
      source.connection().connected ? true : undefined,
    );
    const r = await measureTicks(agent, ticks);
    const domains = agent.snapshot()!.domains.length;
    if (domains !== n) throw new Error(`test driver: expected ${n} domains, got ${domains}`);
    return r;
  } finally {
    await agent.stop();
    node.remove();
  }
}

/** N copies of a recorded record with their own name, UUID and a counter offset (so rates differ per domain). */
function multiply(rec: DomainStatsRecord, n: number, tag: string): DomainStatsRecord[] {
  const out: DomainStatsRecord[] = [];
  for (let i = 0; i < n; i++) {
    const params = new Map<string, TypedParamValue>();
    for (const [k, v] of rec.params) params.set(k, typeof v === "bigint" ? v + BigInt(i) : v);
    const uuid = `${tag}${i.toString(16).padStart(8, "0")}-0000-4000-8000-${(i * 7919).toString(16).padStart(12, "0")}`;
    out.push({ domain: { name: `${tag}-${i}`, uuid, id: i + 1 }, params });
  }
  return out;
}

async function syntheticCost(n: number, ticks: number, fixture: "lab-1" | "kvm-nova"): Promise<TickCost> {
  const a = multiply(loadStats(`${fixture}-1.stats`).record, n, fixture === "lab-1" ? "aaaa" : "bbbb");
  const b = multiply(loadStats(`${fixture}-2.stats`).record, n, fixture === "lab-1" ? "aaaa" : "bbbb");
  const source = new FakeSource();
  const xml = loadXml(`${fixture}.xml`);
  for (const r of a) source.xml.set(r.domain.uuid, xml);
  const clock = { now: 1_800_000_000_000 };
  const agent = quietAgent(source, () => clock.now);
  let flip = false;
  try {
    return await measureTicks(agent, ticks, () => {
      clock.now += 10_000;
      flip = !flip;
      source.replyWith(flip ? a : b);
    });
  } finally {
    await agent.stop();
  }
}

/**
 * The agent's collection on the lab itself, in this process over qemu:///system: our CPU per collection (bulk
 * stats + listing + collectors + render) and what each collection costs libvirtd (its CPU over the ticks minus
 * its rate over an equal quiet window just before), to set against the exporter's libvirtd CPU per scrape.
 */
export async function labTickCost(uri: string): Promise<string> {
  const n = 30;
  const source = new LibvirtSource({ uri, readOnly: true, callTimeoutMs: 5000, connectTimeoutMs: 5000 });
  const agent = quietAgent(source);
  try {
    source.start();
    await waitFor("lab connection", async () => (source.connection().connected ? true : undefined));
    await measureTicks(agent, 3);
    const q0 = libvirtdCpuMs();
    const tq = performance.now();
    await sleep(10_000);
    const quietRate = (libvirtdCpuMs() - q0) / (performance.now() - tq); // ms per ms
    const l0 = libvirtdCpuMs();
    const t0 = performance.now();
    const r = await measureTicks(agent, n);
    const lvd = (libvirtdCpuMs() - l0 - quietRate * (performance.now() - t0)) / (n + 3);
    return (
      `kvmon's collection on the lab (in-process, ${n} collections of the ${agent.snapshot()!.domains.length} lab domains, ` +
      `all collectors, + render of /metrics): CPU median ${f2(median(r.cpu))} ms, p95 ${f2(pct(r.cpu, 95))} ms; ` +
      `wall median ${f2(median(r.wall))} ms; libvirtd CPU per collection ${f2(lvd)} ms (beyond its quiet rate).`
    );
  } finally {
    await agent.stop();
  }
}

export async function scaleBench(counts: number[], ticks: number, log: (s: string) => void): Promise<string> {
  const out = [
    `### Agent cost per domain per interval (collect + render /metrics, this process; ${ticks} intervals per row after 3 warm-up)`,
    "",
    "| source | domains | series | CPU/interval median | CPU/interval p95 | CPU per domain per interval | wall/interval median |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const worst: number[] = [];
  for (const [label, run] of [
    ["test driver (state only)", (n: number) => testDriverCost(n, ticks, false)],
    ["test driver, varied disks and NICs (state only)", (n: number) => testDriverCost(n, ticks, true)],
    ["synthetic: lab TCG guest (lab-1)", (n: number) => syntheticCost(n, ticks, "lab-1")],
    ["synthetic: KVM guest with KVM counters (kvm-nova)", (n: number) => syntheticCost(n, ticks, "kvm-nova")],
  ] as const) {
    for (const n of counts) {
      log(`scale: ${label}, ${n} domains`);
      const r = await run(n);
      const perDomain = median(r.cpu) / n;
      worst.push(pct(r.cpu, 95) / n);
      out.push(
        `| ${label} | ${n} | ${r.series} | ${f2(median(r.cpu))} ms | ${f2(pct(r.cpu, 95))} ms | ` +
          `${(perDomain * 1000).toFixed(0)} µs | ${f2(median(r.wall))} ms |`,
      );
    }
  }
  const max = Math.max(...worst);
  out.push(
    "",
    `Worst p95 per domain: ${(max * 1000).toFixed(0)} µs per domain per interval: target < 1 ms ${max < 1 ? "met" : "NOT met"}.`,
  );
  return out.join("\n");
}

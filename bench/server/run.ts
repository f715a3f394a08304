/**
 * bench/server: the embedded store (src/server/storage/embedded) side by side with VictoriaMetrics, in ONE run
 * on the same synthetic fleet (fleet.ts: the agent's catalog, 1000 domains x ~150 series every 10 s).
 *
 *   .tools/node/bin/node bench/server/run.ts --help     # the options and their defaults
 *
 * Ingest is measured on a window of the whole fleet (--window-min minutes); only domain vm-0000's CPU families get
 * the long history the range queries read (--history-days, ingested untimed before the window). The two sides
 * are fed differently, on purpose and stated in the tables: the embedded store through `SeriesStore.append` in
 * this process (one append per host per interval, as the ingest route will call it), VictoriaMetrics through
 * its remote_write endpoint (`/api/v1/write`, protobuf + snappy bodies encoded before the clock starts). The
 * lead re-runs the table through kvmon's full HTTP path once the ingest route and PromQL are merged.
 * Needs /usr/bin/victoria-metrics (scripts/setup.sh --test-deps); --skip-vm runs the embedded side alone.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { openEmbeddedStore } from "../../src/server/storage/embedded/store.ts";
import type { Series } from "../../src/server/storage/types.ts";
import { type RunningVictoriaMetrics, startVictoriaMetrics } from "../../test/victoria-metrics.ts";
import { benchArgs, logger } from "../lib/cli.ts";
import { cpuMs, cpuSource, meterProcess } from "../lib/cpu.ts";
import { f2, median, ratio } from "../lib/stats.ts";
import { atSteps, avg, overTime, simpleRate } from "./evaluate.ts";
import { FleetValues, type FleetSeries, domainName, fleetSeries, hostBatches } from "./fleet.ts";
import { REMOTE_WRITE_HEADERS, decodeBody, encodeBody, encodeLabels } from "./remote-write.ts";

const opt = benchArgs("bench/server/run.ts", {
  numbers: {
    domains: 1000,
    "per-host": 20,
    "window-min": 20,
    "history-days": 7,
    interval: 10,
    rounds: 10,
    concurrency: 4,
  },
  strings: { synchronous: "NORMAL" },
  flags: { "skip-vm": false },
});
const log = logger("bench");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const intervalMs = opt.interval * 1000;
const steps = Math.round((opt["window-min"] * MINUTE) / intervalMs);
const windowEnd = Math.floor((Date.now() - 2 * MINUTE) / HOUR) * HOUR; // hour-aligned, so rollup buckets are whole
const windowStart = windowEnd - (steps - 1) * intervalMs;
const historyStart = windowStart - opt["history-days"] * 24 * HOUR;
const historySteps = Math.round((windowStart - historyStart) / intervalMs);
const QUERIED = domainName(0);

const fleet = fleetSeries(opt.domains, opt["per-host"]);
const history = fleetSeries(1, 1, (s) => s.name.startsWith("kvmon_domain_cpu_"));
const windowSamples = fleet.length * steps;
const historySamples = history.length * historySteps;

/** The history as batches of up to an hour of samples per series (untimed, so the shape does not matter). */
function* historyBatches(): Generator<Series[]> {
  const values = new FleetValues(history, 2);
  const perBatch = HOUR / intervalMs;
  for (let from = 0; from < historySteps; from += perBatch) {
    const samples = history.map(() => [] as { t: number; v: number }[]);
    for (let s = from; s < Math.min(historySteps, from + perBatch); s++) {
      values.step(opt.interval);
      history.forEach((_, i) => samples[i]!.push({ t: historyStart + s * intervalMs, v: values.values[i]! }));
    }
    yield history.map((h, i) => ({ labels: h.labels, samples: samples[i]! }));
  }
}

/** The window, one batch per host per interval, in time order. */
function* windowBatches(): Generator<Series[]> {
  const values = new FleetValues(fleet, 1);
  for (let step = 0; step < steps; step++) {
    values.step(opt.interval);
    yield* hostBatches(fleet, values.values, windowStart, step, intervalMs);
  }
}

interface SideResult {
  name: string;
  /** The machine's 1-minute load average when its ingest ended (the wall-clock rate is only as good as it). */
  load: number;
  samplesPerS: number;
  cpuMsPerM: number;
  cpuHow: string;
  bytesPerSample: number;
  bytesNote: string;
  q: Record<QueryName, number[]>;
  answers: Record<QueryName, string>;
}
type QueryName = "24h" | "7d" | "topk";
const Q1 = { start: windowEnd - 24 * HOUR, end: windowEnd, step: MINUTE };
const Q2 = { start: windowEnd - 7 * 24 * HOUR, end: windowEnd, step: HOUR };
const PROMQL: Record<QueryName, string> = {
  "24h": `kvmon_domain_cpu_usage_ratio{domain="${QUERIED}"}`,
  "7d": `avg_over_time(kvmon_domain_cpu_usage_ratio{domain="${QUERIED}"}[1h])`,
  topk: "topk(20, rate(kvmon_domain_cpu_seconds_total[5m]))",
};

async function embeddedSide(dir: string): Promise<SideResult> {
  const path = join(dir, "kvmon.db");
  const synchronous = opt.synchronous === "FULL" ? "FULL" : "NORMAL";
  const store = openEmbeddedStore({ path, synchronous });
  log(`embedded: history ${historySamples} samples (untimed)`);
  for (const batch of historyBatches()) await store.append(batch);
  log(`embedded: window ${windowSamples} samples (${fleet.length} series x ${steps} intervals), timed`);
  let wallMs = 0;
  let cpuUs = 0;
  for (const batch of windowBatches()) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await store.append(batch);
    wallMs += performance.now() - t0;
    const c = process.cpuUsage(c0);
    cpuUs += c.user + c.system;
  }
  // Closing the heads (chunks, rollups) is ingest work the window would otherwise leave undone.
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  store.flush();
  wallMs += performance.now() - t0;
  const c = process.cpuUsage(c0);
  cpuUs += c.user + c.system;
  const load = loadavg()[0]!;
  const bytes = statSync(path).size;
  const db = new DatabaseSync(path, { readOnly: true });
  const chunkBytes = (db.prepare("SELECT sum(length(data)) AS n FROM chunks").get() as { n: number }).n;
  db.close();
  const q: SideResult["q"] = { "24h": [], "7d": [], topk: [] };
  const answers = {} as SideResult["answers"];
  for (let round = 0; round < opt.rounds; round++) {
    let t = performance.now();
    const [cpu] = await store.select(
      [
        { name: "__name__", op: "=", value: "kvmon_domain_cpu_usage_ratio" },
        { name: "domain", op: "=", value: QUERIED },
      ],
      { startMs: Q1.start - 5 * MINUTE, endMs: Q1.end },
      { stepMs: Q1.step },
    );
    const points = atSteps(cpu!.samples, Q1.start, Q1.end, Q1.step);
    q["24h"].push(performance.now() - t);
    answers["24h"] = `${points.length} points`;

    t = performance.now();
    const [week] = await store.select(
      [
        { name: "__name__", op: "=", value: "kvmon_domain_cpu_usage_ratio" },
        { name: "domain", op: "=", value: QUERIED },
      ],
      { startMs: Q2.start - HOUR, endMs: Q2.end },
      { stepMs: Q2.step, func: "avg_over_time" },
    );
    const hourly = overTime(week!.samples, Q2.start, Q2.end, Q2.step, HOUR, avg);
    q["7d"].push(performance.now() - t);
    answers["7d"] = `${hourly.length} points`;

    t = performance.now();
    const all = await store.select(
      [{ name: "__name__", op: "=", value: "kvmon_domain_cpu_seconds_total" }],
      { startMs: windowEnd - 5 * MINUTE, endMs: windowEnd },
      { func: "rate" },
    );
    const top = all
      .map((s) => ({ domain: s.labels.domain!, rate: simpleRate(s.samples) }))
      .sort((a, b) => b.rate - a.rate)
      .slice(0, 20);
    q.topk.push(performance.now() - t);
    answers.topk = top.map((x) => x.domain).join(",");
  }
  await store.close();
  return {
    name: `kvmon embedded (SeriesStore.append, in process, synchronous=${synchronous})`,
    load,
    samplesPerS: windowSamples / (wallMs / 1000),
    cpuMsPerM: cpuUs / 1000 / (windowSamples / 1e6),
    cpuHow: "process.cpuUsage around append + flush",
    bytesPerSample: bytes / (windowSamples + historySamples),
    bytesNote: `file after flush + checkpoint, rollups and index included; raw chunks alone ${f2(chunkBytes / (windowSamples + historySamples))} B/sample`,
    q,
    answers,
  };
}

/**
 * POSTs one body. A connection VictoriaMetrics closed under us (it ends keep-alive connections after
 * -http.connTimeout, 2 min) fails the fetch before any answer: that one is sent again, as a sender would.
 */
async function post(vm: RunningVictoriaMetrics, body: Buffer, attempt = 1): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${vm.url}/api/v1/write`, { method: "POST", headers: REMOTE_WRITE_HEADERS, body });
  } catch (e) {
    if (attempt >= 3) throw e;
    return post(vm, body, attempt + 1);
  }
  if (!res.ok) throw new Error(`victoria-metrics /api/v1/write: ${res.status} ${await res.text()}`);
}

async function vmGet(vm: RunningVictoriaMetrics, path: string): Promise<unknown> {
  const res = await fetch(`${vm.url}${path}`, { signal: AbortSignal.timeout(60_000) });
  if (!res.ok) throw new Error(`victoria-metrics ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

function duBytes(dir: string): number {
  return Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
}

function encodeBatch(batch: Series[], labelCache: Map<string, Uint8Array>): Buffer {
  return encodeBody(
    batch.map((s) => {
      const key = JSON.stringify(s.labels);
      let bytes = labelCache.get(key);
      if (!bytes) labelCache.set(key, (bytes = encodeLabels(s.labels)));
      return bytes;
    }),
    batch.map((s) => s.samples),
  );
}

async function victoriaSide(): Promise<SideResult> {
  const vm = await startVictoriaMetrics({ args: ["-search.disableCache", "-search.latencyOffset=0s"] });
  try {
    meterProcess("victoria-metrics", vm.pid);
    vm.process.once("exit", (code, signal) => log(`victoria-metrics exited: code ${code}, signal ${signal}`));
    const labelCache = new Map<string, Uint8Array>();
    log(`victoria-metrics ${vm.url}: history (untimed)`);
    for (const batch of historyBatches()) await post(vm, encodeBatch(batch, labelCache));
    log("victoria-metrics: encoding the window's bodies (untimed)");
    const bodies: Buffer[] = [];
    for (const batch of windowBatches()) bodies.push(encodeBatch(batch, labelCache));
    const check = decodeBody(bodies[0]!);
    if (check.length !== fleet.filter((s: FleetSeries) => s.host === 0).length)
      throw new Error("remote_write body check failed");
    log(`victoria-metrics: sending ${bodies.length} bodies, ${opt.concurrency} at a time, timed`);
    const cpu0 = cpuMs(vm.pid);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: opt.concurrency }, async () => {
        while (next < bodies.length) await post(vm, bodies[next++]!);
      }),
    );
    await vmGet(vm, "/internal/force_flush").catch(() => undefined); // answers with no JSON
    const wallMs = performance.now() - t0;
    const vmCpuMs = cpuMs(vm.pid) - cpu0;
    const load = loadavg()[0]!;
    await fetch(`${vm.url}/internal/force_merge`);
    let bytes = duBytes(vm.dataDir);
    for (let stable = 0, i = 0; stable < 3 && i < 120; i++) {
      await sleep(1000);
      const now = duBytes(vm.dataDir);
      stable = now === bytes ? stable + 1 : 0;
      bytes = now;
    }
    const q: SideResult["q"] = { "24h": [], "7d": [], topk: [] };
    const answers = {} as SideResult["answers"];
    type Matrix = { data: { result: { metric: Record<string, string>; values?: unknown[] }[] } };
    const range = (expr: string, r: typeof Q1) =>
      `/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${r.start / 1000}&end=${r.end / 1000}&step=${r.step / 1000}`;
    for (let round = 0; round < opt.rounds; round++) {
      let t = performance.now();
      const a = (await vmGet(vm, range(PROMQL["24h"], Q1))) as Matrix;
      q["24h"].push(performance.now() - t);
      answers["24h"] = `${a.data.result[0]?.values?.length ?? 0} points`;
      t = performance.now();
      const b = (await vmGet(vm, range(PROMQL["7d"], Q2))) as Matrix;
      q["7d"].push(performance.now() - t);
      answers["7d"] = `${b.data.result[0]?.values?.length ?? 0} points`;
      t = performance.now();
      const c = (await vmGet(
        vm,
        `/api/v1/query?query=${encodeURIComponent(PROMQL.topk)}&time=${windowEnd / 1000}`,
      )) as Matrix;
      q.topk.push(performance.now() - t);
      answers.topk = c.data.result.map((r) => r.metric.domain).join(",");
    }
    return {
      name: "VictoriaMetrics (remote_write over HTTP)",
      load,
      samplesPerS: windowSamples / (wallMs / 1000),
      cpuMsPerM: vmCpuMs / (windowSamples / 1e6),
      cpuHow: `its process (${cpuSource(vm.pid)}), bodies pre-encoded`,
      bytesPerSample: bytes / (windowSamples + historySamples),
      bytesNote: "du -sb of its data dir after force_flush + force_merge (indexdb included)",
      q,
      answers,
    };
  } finally {
    await vm.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), "kvmon-bench-server-"));
try {
  const sides = [await embeddedSide(dir)];
  if (!opt["skip-vm"]) sides.push(await victoriaSide());
  const [kv, vm] = sides as [SideResult, SideResult | undefined];
  const vsVm = (a: number, b: number | undefined) => (b === undefined ? "—" : ratio(a, b));
  const lines = [
    `## bench/server: ${opt.domains} domains x ${fleet.length / opt.domains} series every ${opt.interval} s; ingest window ${opt["window-min"]} min = ${windowSamples} samples; ${QUERIED}'s ${history.length} CPU series also ${opt["history-days"]} days of history (${historySamples} samples); ${opt.rounds} query rounds`,
    "",
    "| store (ingest method) | samples/s (load avg) | CPU ms per million samples | bytes per sample |",
    "|---|---|---|---|",
    ...sides.map(
      (s) =>
        `| ${s.name} | ${Math.round(s.samplesPerS)} (${s.load.toFixed(1)}) | ${f2(s.cpuMsPerM)} (${s.cpuHow}) | ${f2(s.bytesPerSample)} (${s.bytesNote}) |`,
    ),
    ...(vm
      ? [
          `| embedded / VictoriaMetrics | ${ratio(kv.samplesPerS, vm.samplesPerS)} | ${ratio(kv.cpuMsPerM, vm.cpuMsPerM)} | ${ratio(kv.bytesPerSample, vm.bytesPerSample)} |`,
        ]
      : []),
    "",
    "| query (median of rounds, ms) | " +
      sides.map((s) => s.name.split(" (")[0]).join(" | ") +
      " | embedded / VM |",
    "|---|" + sides.map(() => "---|").join("") + "---|",
    ...(Object.keys(PROMQL) as QueryName[]).map(
      (k) =>
        `| \`${PROMQL[k]}\` (${k}) | ${sides.map((s) => f2(median(s.q[k]))).join(" | ")} | ${vsVm(median(kv.q[k]), vm && median(vm.q[k]))} |`,
    ),
    "",
    ...(Object.keys(PROMQL) as QueryName[]).map(
      (k) => `answers ${k}: ${sides.map((s) => `${s.name.split(" (")[0]}: ${s.answers[k]}`).join("; ")}`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

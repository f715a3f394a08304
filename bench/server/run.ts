/**
 * bench/server: a running `kvmon server` side by side with VictoriaMetrics, in ONE run, on the same synthetic
 * fleet (fleet.ts: the agent's catalog, 1000 domains x ~150 series every 10 s), both through the same HTTP path:
 * remote_write 1.0 bodies (encoded once, before any clock starts, and POSTed to both) and the Prometheus query
 * API (`/api/v1/query_range`, `/api/v1/query`, the same URLs).
 *
 *   .tools/node/bin/node bench/server/run.ts --help     # the options and their defaults
 *
 * Ingest is measured on a window of the whole fleet (--window-min minutes); only domain vm-0000's CPU families get
 * the long history the range queries read (--history-days, ingested untimed before the window). The kvmon server
 * runs from source (src/cli/main.ts, as bin/kvmon with KVMON_FROM_SOURCE=1) on a temp data dir with the embedded
 * store; each agent identity writes with its own host token, the queries use a viewer token.
 * Needs /usr/bin/victoria-metrics (scripts/setup.sh --test-deps); --skip-vm runs the kvmon side alone.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { TokenStore } from "../../src/server/auth/tokens.ts";
import { openStateDb } from "../../src/server/state-db.ts";
import { openEmbeddedStore } from "../../src/server/storage/embedded/store.ts";
import type { Series } from "../../src/server/storage/types.ts";
import { SAMPLES_DB_FILE } from "../../src/cli/commands/server.ts";
import { type RunningDaemon, freePort, startDaemon } from "../../test/daemon.ts";
import { startVictoriaMetrics } from "../../test/victoria-metrics.ts";
import { benchArgs, logger } from "../lib/cli.ts";
import { cpuMs, cpuSource, meterProcess } from "../lib/cpu.ts";
import { f2, median, ratio } from "../lib/stats.ts";
import { FleetValues, domainName, fleetSeries, hostBatches } from "./fleet.ts";
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
  strings: { "cpu-prof": "" },
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
const hostNames = [...new Set(fleet.map((s) => s.labels.host!))];
const windowSamples = fleet.length * steps;
const historySamples = history.length * historySteps;

/** A remote_write body and the agent identity (host label) that sends it. */
interface Body {
  host: string;
  bytes: Buffer;
}

const labelCache = new Map<string, Uint8Array>();
function encodeBatch(batch: Series[]): Body {
  const bytes = encodeBody(
    batch.map((s) => {
      const key = JSON.stringify(s.labels);
      let encoded = labelCache.get(key);
      if (!encoded) labelCache.set(key, (encoded = encodeLabels(s.labels)));
      return encoded;
    }),
    batch.map((s) => s.samples),
  );
  return { host: batch[0]!.labels.host!, bytes };
}

/** The history as bodies of up to an hour of samples per series (untimed, so the shape does not matter). */
function historyBodies(): Body[] {
  const values = new FleetValues(history, 2);
  const perBatch = HOUR / intervalMs;
  const out: Body[] = [];
  for (let from = 0; from < historySteps; from += perBatch) {
    const samples = history.map(() => [] as { t: number; v: number }[]);
    for (let s = from; s < Math.min(historySteps, from + perBatch); s++) {
      values.step(opt.interval);
      history.forEach((_, i) => samples[i]!.push({ t: historyStart + s * intervalMs, v: values.values[i]! }));
    }
    out.push(encodeBatch(history.map((h, i) => ({ labels: h.labels, samples: samples[i]! }))));
  }
  return out;
}

/** The window, one body per host per interval, in time order. */
function windowBodies(): Body[] {
  const values = new FleetValues(fleet, 1);
  const out: Body[] = [];
  for (let step = 0; step < steps; step++) {
    values.step(opt.interval);
    for (const batch of hostBatches(fleet, values.values, windowStart, step, intervalMs))
      out.push(encodeBatch(batch));
  }
  return out;
}

type QueryName = "24h" | "7d" | "topk";
const Q1 = { start: windowEnd - 24 * HOUR, end: windowEnd, step: MINUTE };
const Q2 = { start: windowEnd - 7 * 24 * HOUR, end: windowEnd, step: HOUR };
const PROMQL: Record<QueryName, string> = {
  "24h": `kvmon_domain_cpu_usage_ratio{domain="${QUERIED}"}`,
  "7d": `avg_over_time(kvmon_domain_cpu_usage_ratio{domain="${QUERIED}"}[1h])`,
  topk: "topk(20, rate(kvmon_domain_cpu_seconds_total[5m]))",
};
const range = (expr: string, r: typeof Q1) =>
  `/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${r.start / 1000}&end=${r.end / 1000}&step=${r.step / 1000}`;
const QUERY_PATHS: Record<QueryName, string> = {
  "24h": range(PROMQL["24h"], Q1),
  "7d": range(PROMQL["7d"], Q2),
  topk: `/api/v1/query?query=${encodeURIComponent(PROMQL.topk)}&time=${windowEnd / 1000}`,
};

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

/** One side as the bench drives it: where to POST and GET, with which token, and its process. */
interface Target {
  url: string;
  pid: number;
  /** The bearer token of a host (kvmon) or none (VictoriaMetrics). */
  hostToken(host: string): string | undefined;
  viewerToken?: string;
}

const bearer = (token: string | undefined): Record<string, string> =>
  token === undefined ? {} : { Authorization: `Bearer ${token}` };

/**
 * POSTs one body. A connection the peer closed under us (VictoriaMetrics ends keep-alive connections after
 * -http.connTimeout, 2 min) fails the fetch before any answer: that one is sent again, as a sender would.
 */
async function post(target: Target, body: Body, attempt = 1): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${target.url}/api/v1/write`, {
      method: "POST",
      headers: { ...REMOTE_WRITE_HEADERS, ...bearer(target.hostToken(body.host)) },
      body: body.bytes,
    });
  } catch (e) {
    if (attempt >= 3) throw e;
    return post(target, body, attempt + 1);
  }
  if (!res.ok) throw new Error(`${target.url}/api/v1/write: ${res.status} ${await res.text()}`);
}

async function get(target: Target, path: string): Promise<unknown> {
  const res = await fetch(`${target.url}${path}`, {
    headers: bearer(target.viewerToken),
    signal: AbortSignal.timeout(60_000),
  });
  if (!res.ok) throw new Error(`${target.url}${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** The window's bodies, `concurrency` in flight; wall ms and the target process's CPU ms. */
async function ingest(target: Target, bodies: readonly Body[], settle: () => Promise<unknown>) {
  const cpu0 = cpuMs(target.pid);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: opt.concurrency }, async () => {
      while (next < bodies.length) await post(target, bodies[next++]!);
    }),
  );
  await settle();
  return { wallMs: performance.now() - t0, cpuMs: cpuMs(target.pid) - cpu0, load: loadavg()[0]! };
}

/** `--rounds` rounds of the three queries, each answer's size or top-20 set kept for the side-by-side check. */
async function queries(target: Target): Promise<Pick<SideResult, "q" | "answers">> {
  const q: SideResult["q"] = { "24h": [], "7d": [], topk: [] };
  const answers = {} as SideResult["answers"];
  type Answer = { data: { result: { metric: Record<string, string>; values?: unknown[] }[] } };
  for (const path of Object.values(QUERY_PATHS)) await get(target, path); // warm-up, untimed (JIT, page cache)
  for (let round = 0; round < opt.rounds; round++) {
    for (const name of Object.keys(QUERY_PATHS) as QueryName[]) {
      const t = performance.now();
      const a = (await get(target, QUERY_PATHS[name])) as Answer;
      q[name].push(performance.now() - t);
      answers[name] =
        name === "topk"
          ? a.data.result.map((r) => r.metric.domain).join(",")
          : `${a.data.result[0]?.values?.length ?? 0} points`;
    }
  }
  return { q, answers };
}

function duBytes(dir: string): number {
  return Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
}

const SRC_CLI = resolve(import.meta.dirname, "../../src/cli/main.ts");

/** `kvmon server` from source on `dataDir` (as bin/kvmon runs it), ready when /healthz answers. */
async function startKvmonServer(dataDir: string, port: number): Promise<RunningDaemon> {
  const prof = opt["cpu-prof"] === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${resolve(opt["cpu-prof"])}`];
  return startDaemon({
    bin: process.execPath,
    args: [
      "--disable-warning=ExperimentalWarning",
      ...prof,
      SRC_CLI,
      "server",
      "--listen",
      `127.0.0.1:${port}`,
      "--data-dir",
      dataDir,
      "--log-level",
      "warn",
    ],
    port,
    readyPath: "/healthz",
    readyTimeoutMs: 30_000,
    dir: dataDir,
  });
}

async function kvmonSide(
  dir: string,
  history: readonly Body[],
  bodies: readonly Body[],
): Promise<SideResult> {
  const dataDir = join(dir, "server");
  mkdirSync(dataDir);
  // The tokens `kvmon server token create` / `host add` make, written the way those commands write them.
  const db = openStateDb(dataDir);
  const tokens = new TokenStore(db);
  tokens.create("user", "admin", "admin");
  const viewerToken = tokens.create("user", "bench", "viewer").token;
  const hostTokens = new Map(hostNames.map((h) => [h, tokens.create("host", h, null).token]));
  db.close();
  const port = await freePort();
  let server = await startKvmonServer(dataDir, port);
  const target: Target = {
    url: server.url,
    pid: server.process.pid!,
    hostToken: (h) => hostTokens.get(h),
    viewerToken,
  };
  try {
    meterProcess("kvmon-server", target.pid);
    log(`kvmon server ${server.url}: history ${historySamples} samples (untimed)`);
    for (const body of history) await post(target, body);
    log(`kvmon server: sending ${bodies.length} bodies, ${opt.concurrency} at a time, timed`);
    const run = await ingest(target, bodies, async () => undefined); // a 204 means durable: nothing to settle
    const cpuHow = cpuSource(target.pid);
    // Compaction: the heads closed into chunks and rollups, free pages returned, SQLite's WAL checkpointed
    // (EmbeddedStore.flush), on the stopped server's database; then the data dir's bytes, as VictoriaMetrics'.
    await server.stop(true);
    const store = openEmbeddedStore({ path: join(dataDir, SAMPLES_DB_FILE) }); // replays the head-WAL: untimed
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    store.flush();
    const c = process.cpuUsage(c0);
    const flushMs = performance.now() - t0;
    const flushCpuMs = (c.user + c.system) / 1000;
    await store.close();
    const bytes = duBytes(dataDir);
    server = await startKvmonServer(dataDir, port);
    target.pid = server.process.pid!;
    const { q, answers } = await queries(target);
    return {
      name: "kvmon server (embedded store)",
      load: run.load,
      samplesPerS: windowSamples / (run.wallMs / 1000),
      cpuMsPerM: run.cpuMs / (windowSamples / 1e6),
      cpuHow: `its process (${cpuHow}); compaction after, offline: ${Math.round(flushMs)} ms wall, ${Math.round(flushCpuMs)} ms CPU`,
      bytesPerSample: bytes / (windowSamples + historySamples),
      bytesNote: "du -sb of its data dir after compaction (state.db included)",
      q,
      answers,
    };
  } finally {
    await server.stop();
  }
}

async function victoriaSide(history: readonly Body[], bodies: readonly Body[]): Promise<SideResult> {
  const vm = await startVictoriaMetrics({ args: ["-search.disableCache", "-search.latencyOffset=0s"] });
  const target: Target = { url: vm.url, pid: vm.pid, hostToken: () => undefined };
  try {
    meterProcess("victoria-metrics", vm.pid);
    vm.process.once("exit", (code, signal) => log(`victoria-metrics exited: code ${code}, signal ${signal}`));
    log(`victoria-metrics ${vm.url}: history (untimed)`);
    for (const body of history) await post(target, body);
    log(`victoria-metrics: sending ${bodies.length} bodies, ${opt.concurrency} at a time, timed`);
    const run = await ingest(target, bodies, () =>
      get(target, "/internal/force_flush").catch(() => undefined),
    ); // no JSON
    await fetch(`${vm.url}/internal/force_merge`);
    let bytes = duBytes(vm.dataDir);
    for (let stable = 0, i = 0; stable < 3 && i < 120; i++) {
      await sleep(1000);
      const now = duBytes(vm.dataDir);
      stable = now === bytes ? stable + 1 : 0;
      bytes = now;
    }
    const { q, answers } = await queries(target);
    return {
      name: "VictoriaMetrics",
      load: run.load,
      samplesPerS: windowSamples / (run.wallMs / 1000),
      cpuMsPerM: run.cpuMs / (windowSamples / 1e6),
      cpuHow: `its process (${cpuSource(vm.pid)})`,
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
  log("encoding the remote_write bodies (untimed)");
  const historyBody = historyBodies();
  const bodies = windowBodies();
  if (decodeBody(bodies[0]!.bytes).length !== fleet.filter((s) => s.host === 0).length)
    throw new Error("remote_write body check failed");
  const sides = [await kvmonSide(dir, historyBody, bodies)];
  if (!opt["skip-vm"]) sides.push(await victoriaSide(historyBody, bodies));
  const [kv, vm] = sides as [SideResult, SideResult | undefined];
  const vsVm = (a: number, b: number | undefined) => (b === undefined ? "—" : ratio(a, b));
  const lines = [
    `## bench/server: ${opt.domains} domains x ${fleet.length / opt.domains} series every ${opt.interval} s (${hostNames.length} hosts); ingest window ${opt["window-min"]} min = ${windowSamples} samples in ${bodies.length} remote_write bodies, ${opt.concurrency} in flight; ${QUERIED}'s ${history.length} CPU series also ${opt["history-days"]} days of history (${historySamples} samples); ${opt.rounds} query rounds`,
    "",
    "| over HTTP (remote_write + Prometheus API) | samples/s (load avg) | CPU ms per million samples | bytes per sample |",
    "|---|---|---|---|",
    ...sides.map(
      (s) =>
        `| ${s.name} | ${Math.round(s.samplesPerS)} (${s.load.toFixed(1)}) | ${f2(s.cpuMsPerM)} (${s.cpuHow}) | ${f2(s.bytesPerSample)} (${s.bytesNote}) |`,
    ),
    ...(vm
      ? [
          `| kvmon / VictoriaMetrics | ${ratio(kv.samplesPerS, vm.samplesPerS)} | ${ratio(kv.cpuMsPerM, vm.cpuMsPerM)} | ${ratio(kv.bytesPerSample, vm.bytesPerSample)} |`,
        ]
      : []),
    "",
    "| query (median of rounds, ms) | " + sides.map((s) => s.name).join(" | ") + " | kvmon / VM |",
    "|---|" + sides.map(() => "---|").join("") + "---|",
    ...(Object.keys(PROMQL) as QueryName[]).map(
      (k) =>
        `| \`${PROMQL[k]}\` (${k}) | ${sides.map((s) => f2(median(s.q[k]))).join(" | ")} | ${vsVm(median(kv.q[k]), vm && median(vm.q[k]))} |`,
    ),
    "",
    ...(Object.keys(PROMQL) as QueryName[]).map(
      (k) => `answers ${k}: ${sides.map((s) => `${s.name}: ${s.answers[k]}`).join("; ")}`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

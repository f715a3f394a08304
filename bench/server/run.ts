/**
 * bench/server: a running `kvmon server` side by side with VictoriaMetrics, in ONE run, on the same synthetic
 * fleet (fleet.ts: the agent's catalog, 1000 domains x ~150 series every 10 s), both through the same HTTP path:
 * remote_write 1.0 bodies (encoded once, before any clock starts, and POSTed to both) and the Prometheus query
 * API (`/api/v1/query_range`, `/api/v1/query`, the same URLs); and the 7-day range through kvmon's hour rollups, its
 * JSON range API (`/api/v1/series/range`, what the dashboard reads) against VictoriaMetrics' PromQL for it.
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
import type { RangeAnswer } from "../../src/server/api/series.ts";
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
    slices: 10,
  },
  strings: { "cpu-prof": "" },
  flags: { "skip-vm": false },
});
const log = logger("bench");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const intervalMs = opt.interval * 1000;
const steps = Math.round((opt["window-min"] * MINUTE) / intervalMs);
// Hour-aligned, so rollup buckets are whole; the window's samples end one interval before it, inside the hour (a
// last sample on the boundary would open the next hour's rollup row for every series).
const windowEnd = Math.floor((Date.now() - 2 * MINUTE) / HOUR) * HOUR;
const windowStart = windowEnd - steps * intervalMs;
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

type QueryName = "24h" | "7d" | "topk" | "7d-rollups";
const Q1 = { start: windowEnd - 24 * HOUR, end: windowEnd, step: MINUTE };
const Q2 = { start: windowEnd - 7 * 24 * HOUR, end: windowEnd, step: HOUR };
const PROMQL: Record<Exclude<QueryName, "7d-rollups">, string> = {
  "24h": `kvmon_domain_cpu_usage_ratio{domain="${QUERIED}"}`,
  "7d": `avg_over_time(kvmon_domain_cpu_usage_ratio{domain="${QUERIED}"}[1h])`,
  topk: "topk(20, rate(kvmon_domain_cpu_seconds_total[5m]))",
};
const range = (expr: string, r: typeof Q1) =>
  `/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${r.start / 1000}&end=${r.end / 1000}&step=${r.step / 1000}`;

/**
 * The queries, in the order of a round: what the row says and the URL, the same on both sides but for the
 * 7-day range through the rollups, which kvmon answers on its JSON range API (SelectHints with rollups: hour
 * buckets) and VictoriaMetrics with the PromQL it stands for.
 */
const QUERIES: Record<QueryName, { row: string; path: string; kvmonPath?: string }> = {
  "24h": { row: `\`${PROMQL["24h"]}\` (24h)`, path: range(PROMQL["24h"], Q1) },
  "7d": { row: `\`${PROMQL["7d"]}\` (7d, PromQL: raw samples)`, path: range(PROMQL["7d"], Q2) },
  topk: {
    row: `\`${PROMQL.topk}\` (topk)`,
    path: `/api/v1/query?query=${encodeURIComponent(PROMQL.topk)}&time=${windowEnd / 1000}`,
  },
  "7d-rollups": {
    row: "7 days, 1 h step, through kvmon's hour rollups (7d-rollups): kvmon `/api/v1/series/range?agg=avg`, VM the 7d PromQL",
    path: range(PROMQL["7d"], Q2),
    kvmonPath: `/api/v1/series/range?metric=kvmon_domain_cpu_usage_ratio&match=domain%3D${QUERIED}&start=${Q2.start / 1000}&end=${Q2.end / 1000}&step=${Q2.step / 1000}&agg=avg`,
  },
};
const QUERY_NAMES = Object.keys(QUERIES) as QueryName[];

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

/** Bodies `concurrency` in flight. */
async function send(target: Target, bodies: readonly Body[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: opt.concurrency }, async () => {
      while (next < bodies.length) await post(target, bodies[next++]!);
    }),
  );
}

/** A Prometheus API answer (values as [seconds, "text"]), or kvmon's JSON range answer. */
type PromAnswer = { data: { result: { metric: Record<string, string>; values?: [number, string][] }[] } };
type Answer = PromAnswer | RangeAnswer;

/** A query answer's size, or the top-k's domains, for the side-by-side check. */
function answerText(name: QueryName, a: Answer): string {
  if ("series" in a) return `${a.series.length} series, ${a.series[0]?.points.length ?? 0} points`;
  if (name === "topk") return a.data.result.map((r) => r.metric.domain).join(",");
  return `${a.data.result.length} series, ${a.data.result[0]?.values?.length ?? 0} points`;
}

/**
 * kvmon's hour rollups against VictoriaMetrics' `avg_over_time(...[1h])`. A rollup point at t is the mean of
 * [t, t + 1 h) (the JSON API labels a bucket by its start), VictoriaMetrics' at t the mean of (t - 1 h, t], so
 * kvmon's t pairs with VictoriaMetrics' t + 1 h (and VictoriaMetrics' first point, the window ending at the
 * range's start, has no partner). With samples on the hour each pair shares all but one sample of an hour's: the
 * sample at t is in kvmon's mean, the one at t + 1 h in VictoriaMetrics', so for a ratio in [0, 1] they differ by
 * at most 1 / (samples an hour). More than that is a wrong rollup.
 */
function rollupAgreement(kv: Answer, vm: Answer): string {
  if (!("series" in kv) || "series" in vm) return "not comparable";
  const vmPoints = new Map((vm.data.result[0]?.values ?? []).map(([t, v]) => [t, Number(v)]));
  const kvPoints = kv.series[0]?.points ?? [];
  const bound = intervalMs / HOUR;
  let paired = 0;
  let maxDiff = 0;
  for (const [t, v] of kvPoints) {
    const other = vmPoints.get(t + kv.step);
    if (other === undefined) continue;
    paired++;
    maxDiff = Math.max(maxDiff, Math.abs(v - other));
  }
  const verdict = paired === kvPoints.length && paired > 0 && maxDiff <= bound ? "agree" : "DIFFER";
  return `${verdict}: ${paired} points paired, kvmon's hour [t, t+1h) with VictoriaMetrics' window (t, t+1h] (unpaired: kvmon ${kvPoints.length - paired}, VictoriaMetrics ${vmPoints.size - paired}); largest difference ${maxDiff.toPrecision(3)}, bound ${bound.toPrecision(3)} (one sample of ${HOUR / intervalMs} swapped at the window's ends)`;
}

function duBytes(dir: string): number {
  return Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
}

const KVMON = resolve(import.meta.dirname, "../../bin/kvmon");

/**
 * `bin/kvmon server` on `dataDir`, from source (KVMON_FROM_SOURCE=1: the bundle may be older than the tree), with
 * the Node flags the launcher gives the server; ready when /healthz answers.
 */
async function startKvmonServer(dataDir: string, port: number): Promise<RunningDaemon> {
  const prof = opt["cpu-prof"] === "" ? "" : `--cpu-prof --cpu-prof-dir=${resolve(opt["cpu-prof"])}`;
  return startDaemon({
    bin: KVMON,
    args: ["server", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir, "--log-level", "warn"],
    env: { ...process.env, KVMON_FROM_SOURCE: "1", ...(prof === "" ? {} : { NODE_OPTIONS: prof }) },
    port,
    readyPath: "/healthz",
    readyTimeoutMs: 30_000,
    dir: dataDir,
  });
}

/** One store under test, as the bench drives it. */
interface Side {
  readonly name: string;
  /** kvmon: answers the rollup query on its JSON range API. */
  readonly kvmon: boolean;
  readonly target: Target;
  /** After the last body: what makes every sample queryable (VictoriaMetrics: force_flush). Timed. */
  settle(): Promise<unknown>;
  /** Compaction, then bytes on disk and how they were counted. */
  compact(): Promise<{ bytes: number; note: string }>;
  stop(): Promise<void>;
}

async function kvmonSide(dir: string): Promise<Side> {
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
  meterProcess("kvmon-server", server.process.pid!);
  const target: Target = {
    url: server.url,
    pid: server.process.pid!,
    hostToken: (h) => hostTokens.get(h),
    viewerToken,
  };
  return {
    name: "kvmon server (embedded store)",
    kvmon: true,
    target,
    settle: () => Promise.resolve(), // a 204 means durable and queryable
    async compact() {
      // The heads closed into chunks and rollups, free pages returned, SQLite's WAL checkpointed
      // (EmbeddedStore.flush), on the stopped server's database; then the data dir's bytes, as VictoriaMetrics'.
      await server.stop(true);
      const store = openEmbeddedStore({ path: join(dataDir, SAMPLES_DB_FILE) }); // replays the head-WAL: untimed
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      store.flush();
      const c = process.cpuUsage(c0);
      const flushMs = performance.now() - t0;
      await store.close();
      const bytes = duBytes(dataDir);
      server = await startKvmonServer(dataDir, port);
      target.pid = server.process.pid!;
      return {
        bytes,
        note: `du -sb of its data dir (state.db included) after compaction: ${Math.round(flushMs)} ms wall, ${Math.round((c.user + c.system) / 1000)} ms CPU`,
      };
    },
    stop: () => server.stop(),
  };
}

async function victoriaSide(): Promise<Side> {
  const vm = await startVictoriaMetrics({ args: ["-search.disableCache", "-search.latencyOffset=0s"] });
  meterProcess("victoria-metrics", vm.pid);
  vm.process.once("exit", (code, signal) => log(`victoria-metrics exited: code ${code}, signal ${signal}`));
  const target: Target = { url: vm.url, pid: vm.pid, hostToken: () => undefined };
  return {
    name: "VictoriaMetrics",
    kvmon: false,
    target,
    settle: () => get(target, "/internal/force_flush").catch(() => undefined), // answers with no JSON
    async compact() {
      await fetch(`${vm.url}/internal/force_merge`);
      let bytes = duBytes(vm.dataDir);
      for (let stable = 0, i = 0; stable < 3 && i < 120; i++) {
        await sleep(1000);
        const now = duBytes(vm.dataDir);
        stable = now === bytes ? stable + 1 : 0;
        bytes = now;
      }
      return { bytes, note: "du -sb of its data dir after force_flush + force_merge (indexdb included)" };
    },
    stop: () => vm.stop(),
  };
}

interface Measured {
  wallMs: number;
  cpuMs: number;
  loads: number[];
  cpuHow: string;
  bytes: number;
  bytesNote: string;
  q: Record<QueryName, number[]>;
  /** Each query's last answer. */
  answers: Partial<Record<QueryName, Answer>>;
}

/**
 * Both sides under the same load: the window is sent in `--slices` time slices, each to one side then the other,
 * and the query rounds alternate between them too (the machine is shared; its load moves within minutes).
 */
async function measure(sides: readonly Side[], history: readonly Body[], bodies: readonly Body[]) {
  const m: Measured[] = sides.map((s) => ({
    wallMs: 0,
    cpuMs: 0,
    loads: [],
    cpuHow: `its process (${cpuSource(s.target.pid)})`,
    bytes: 0,
    bytesNote: "",
    q: { "24h": [], "7d": [], topk: [], "7d-rollups": [] },
    answers: {},
  }));
  for (const side of sides) {
    log(`${side.name} ${side.target.url}: history ${historySamples} samples (untimed)`);
    for (const body of history) await post(side.target, body);
  }
  const slices = Math.max(1, opt.slices);
  log(
    `sending ${bodies.length} bodies to each, ${opt.concurrency} in flight, in ${slices} alternating slices, timed`,
  );
  for (let k = 0; k < slices; k++) {
    const part = bodies.slice(
      Math.floor((k * bodies.length) / slices),
      Math.floor(((k + 1) * bodies.length) / slices),
    );
    for (const [i, side] of sides.entries()) {
      const cpu0 = cpuMs(side.target.pid);
      const t0 = performance.now();
      await send(side.target, part);
      if (k === slices - 1) await side.settle();
      m[i]!.wallMs += performance.now() - t0;
      m[i]!.cpuMs += cpuMs(side.target.pid) - cpu0;
      m[i]!.loads.push(loadavg()[0]!);
    }
  }
  for (const [i, side] of sides.entries()) {
    log(`${side.name}: compaction, bytes on disk`);
    const { bytes, note } = await side.compact();
    m[i]!.bytes = bytes;
    m[i]!.bytesNote = note;
  }
  const pathOf = (side: Side, name: QueryName) =>
    (side.kvmon && QUERIES[name].kvmonPath) || QUERIES[name].path;
  for (const side of sides) for (const name of QUERY_NAMES) await get(side.target, pathOf(side, name)); // warm-up
  log(`${opt.rounds} query rounds, alternating`);
  for (let round = 0; round < opt.rounds; round++) {
    for (const name of QUERY_NAMES) {
      for (const [i, side] of sides.entries()) {
        const t = performance.now();
        const a = (await get(side.target, pathOf(side, name))) as Answer;
        m[i]!.q[name].push(performance.now() - t);
        m[i]!.answers[name] = a;
      }
    }
  }
  return m;
}

const dir = mkdtempSync(join(tmpdir(), "kvmon-bench-server-"));
const sides: Side[] = [];
try {
  log("encoding the remote_write bodies (untimed)");
  const historyBody = historyBodies();
  const bodies = windowBodies();
  if (decodeBody(bodies[0]!.bytes).length !== fleet.filter((s) => s.host === 0).length)
    throw new Error("remote_write body check failed");
  sides.push(await kvmonSide(dir));
  if (!opt["skip-vm"]) sides.push(await victoriaSide());
  const m = await measure(sides, historyBody, bodies);
  const rate = (x: Measured) => windowSamples / (x.wallMs / 1000);
  const cpuPerM = (x: Measured) => x.cpuMs / (windowSamples / 1e6);
  const perSample = (x: Measured) => x.bytes / (windowSamples + historySamples);
  const load = (x: Measured) => `${Math.min(...x.loads).toFixed(1)}-${Math.max(...x.loads).toFixed(1)}`;
  const [kv, vm] = m as [Measured, Measured | undefined];
  const vsVm = (f: (x: Measured) => number) => (vm === undefined ? "—" : ratio(f(kv), f(vm)));
  const medianOf = (k: QueryName) => (x: Measured) => median(x.q[k]);
  const lines = [
    `## bench/server: ${opt.domains} domains x ${fleet.length / opt.domains} series every ${opt.interval} s (${hostNames.length} hosts); ingest window ${opt["window-min"]} min = ${windowSamples} samples in ${bodies.length} remote_write bodies, ${opt.concurrency} in flight, ${opt.slices} slices alternating between the stores; ${QUERIED}'s ${history.length} CPU series also ${opt["history-days"]} days of history (${historySamples} samples); ${opt.rounds} query rounds, alternating`,
    "",
    "| over HTTP (remote_write + Prometheus API) | samples/s (load avg during ingest) | CPU ms per million samples | bytes per sample |",
    "|---|---|---|---|",
    ...sides.map(
      (s, i) =>
        `| ${s.name} | ${Math.round(rate(m[i]!))} (${load(m[i]!)}) | ${f2(cpuPerM(m[i]!))} (${m[i]!.cpuHow}) | ${f2(perSample(m[i]!))} (${m[i]!.bytesNote}) |`,
    ),
    ...(vm ? [`| kvmon / VictoriaMetrics | ${vsVm(rate)} | ${vsVm(cpuPerM)} | ${vsVm(perSample)} |`] : []),
    "",
    "| query (median of rounds, ms) | " + sides.map((s) => s.name).join(" | ") + " | kvmon / VM |",
    "|---|" + sides.map(() => "---|").join("") + "---|",
    ...QUERY_NAMES.map(
      (k) => `| ${QUERIES[k].row} | ${m.map((x) => f2(median(x.q[k]))).join(" | ")} | ${vsVm(medianOf(k))} |`,
    ),
    "",
    ...QUERY_NAMES.map(
      (k) =>
        `answers ${k}: ${sides.map((s, i) => `${s.name}: ${answerText(k, m[i]!.answers[k]!)}`).join("; ")}`,
    ),
    ...(vm
      ? [
          `rollups vs VictoriaMetrics: ${rollupAgreement(kv.answers["7d-rollups"]!, vm.answers["7d-rollups"]!)}`,
        ]
      : []),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  for (const side of sides) await side.stop();
  rmSync(dir, { recursive: true, force: true });
}

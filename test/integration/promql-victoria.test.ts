/**
 * kvmon's PromQL against the real thing, on the same data (no lab, no lock): a synthetic fleet (2 hosts, 9
 * domains, counters with a reset, a domain that goes away, jittered 15 s samples) is loaded into kvmon's
 * in-memory store, into a real Prometheus 2.42 (TSDB blocks via promtool) and into a real VictoriaMetrics; a list
 * of dashboard-like queries is asked of all three through their HTTP query APIs, instant and range, and compared
 * result by result: the same label sets, values within 1e-9 relative.
 *
 * Prometheus is the witness for every query. VictoriaMetrics differs from Prometheus by design in places (its
 * rate/increase/delta do not extrapolate, its instant-vector lookback adapts to the sample interval instead of a
 * fixed 5 minutes, ...): each query names why it is not compared with VictoriaMetrics where it is not.
 *
 * kvmon is asked over two of its own stores: the in-memory test store and the embedded store (raw samples for
 * PromQL at any step, so a 60 s step does not read the 1-minute rollups).
 *
 * Also: kvmon's SeriesStore over VictoriaMetrics (storage/prometheus) answers select like the in-memory store
 * (series and labels at VictoriaMetrics' day granularity), and kvmon's API evaluating over it, or over a plain
 * Prometheus, answers every query like kvmon over the memory store.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promApiRoutes } from "../../src/server/prom-api/routes.ts";
import { labelsKey } from "../../src/server/promql/labels.ts";
import { openEmbeddedStore } from "../../src/server/storage/embedded/store.ts";
import { PrometheusStore } from "../../src/server/storage/prometheus/store.ts";
import { MemoryStore } from "../../src/server/storage/testing/memory-store.ts";
import type { Labels, Matcher, Sample, Series, SeriesStore } from "../../src/server/storage/types.ts";
import { type RunningPrometheus, startPrometheus } from "../prometheus.ts";
import { type RunningVictoriaMetrics, startVictoriaMetrics } from "../victoria-metrics.ts";

const HOUR = 3600_000;
/** Data from BASE to BASE + 2 h; BASE on a whole hour, 4 h ago (inside every retention, never in the future). */
const BASE = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR;
const END = BASE + 2 * HOUR;

/** A deterministic pseudo-random sequence (LCG), so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

/**
 * The fleet. Samples every 15 s, each shifted by a multiple of 125 ms (exact in binary seconds, so the OpenMetrics
 * text carries it exactly) and never on a whole second, so no sample sits on a window edge of a whole-second
 * step, where Prometheus (closed windows) and VictoriaMetrics (left-open) would legitimately differ.
 */
function fleet(): Series[] {
  const rnd = random(42);
  const out: Series[] = [];
  const series = (labels: Labels, until: number, value: (i: number, t: number) => number): void => {
    const samples: Sample[] = [];
    let i = 0;
    for (let t = BASE; t <= until; t += 15_000, i++) {
      const at = t + 125 * (1 + Math.floor(rnd() * 7));
      samples.push({ t: at, v: value(i, at) });
    }
    out.push({ labels, samples });
  };
  const domains = [
    ["h1", "web-1"],
    ["h1", "web-2"],
    ["h1", "db-1"],
    ["h1", "cache"],
    ["h2", "web-3"],
    ["h2", "db-2"],
    ["h2", "batch"],
    ["h2", "build"],
    ["h2", "gone"],
  ] as const;
  for (const [host, domain] of domains) {
    const until = domain === "gone" ? BASE + 90 * 60_000 : END;
    const max = 2 ** 30 * (2 + Math.floor(rnd() * 6));
    let used = max * 0.5;
    let cpu = Math.round(rnd() * 1e5);
    const restartAt = domain === "db-1" ? 240 : -1; // db-1's QEMU restarts after 1 h: its counters reset
    series({ __name__: "kvmon_domain_cpu_seconds_total", host, domain }, until, (i) => {
      cpu = i === restartAt ? 3 : Math.round((cpu + rnd() * 30) * 1000) / 1000;
      return cpu;
    });
    series({ __name__: "kvmon_domain_memory_used_bytes", host, domain }, until, () => {
      used = Math.round(Math.min(max, Math.max(max * 0.1, used + (rnd() - 0.5) * 2 ** 26)));
      return used;
    });
    series({ __name__: "kvmon_domain_memory_max_bytes", host, domain }, until, () => max);
    for (const device of ["vda", "vdb"]) {
      let bytes = 0;
      series({ __name__: "kvmon_domain_block_read_bytes_total", host, domain, device }, until, (i) => {
        bytes = i === restartAt ? 4096 : bytes + Math.floor(rnd() * 1e6);
        return bytes;
      });
    }
  }
  for (const [host, rack, cpus] of [
    ["h1", "r1", 16],
    ["h2", "r2", 32],
  ] as const) {
    series({ __name__: "kvmon_host_cpus", host }, END, () => cpus);
    series({ __name__: "kvmon_host_memory_bytes", host }, END, () => cpus * 2 ** 32);
    series({ __name__: "kvmon_host_info", host, rack, version: "0.1.0" }, END, () => 1);
  }
  return out;
}

interface Query {
  readonly q: string;
  /** Why VictoriaMetrics is not compared; undefined: it is. */
  readonly notVm?: string;
  /**
   * VictoriaMetrics 1.79 keeps `__name__` in instant results of *_over_time, clamp_* and predict_linear: compared
   * without names.
   */
  readonly vmKeepsName?: boolean;
}

const NO_EXTRAPOLATION =
  "VictoriaMetrics' rate/increase/delta do not extrapolate to the window edges (by design)";

const FROM_BEFORE_WINDOW =
  "VictoriaMetrics' changes() also counts the change from the last sample before the window";
const EMPTY_WHILE_PRESENT =
  "empty while every series has samples, which is where VictoriaMetrics is compared";

const SUBQUERY_STEPS =
  "VictoriaMetrics chooses a subquery's default step and aligns its steps its own way, not to the epoch";

const QUERIES: readonly Query[] = [
  { q: "1+1" },
  { q: "time()" },
  { q: "vector(1)" },
  {
    q: "kvmon_domain_memory_used_bytes",
    notVm: "VictoriaMetrics' lookback adapts to the sample interval: `gone` vanishes sooner",
  },
  { q: 'kvmon_domain_memory_used_bytes{domain=~"web-.*", host!="h2"}' },
  { q: 'kvmon_domain_memory_used_bytes{domain!~"web-.*|gone"} offset 10m' },
  { q: 'kvmon_domain_memory_used_bytes{host="h1", domain!="cache"} / 1024 / 1024' },
  { q: "rate(kvmon_domain_cpu_seconds_total[5m])", notVm: NO_EXTRAPOLATION },
  { q: "irate(kvmon_domain_cpu_seconds_total[2m])" },
  { q: "increase(kvmon_domain_block_read_bytes_total[10m])", notVm: NO_EXTRAPOLATION },
  { q: "delta(kvmon_domain_memory_used_bytes[15m])", notVm: NO_EXTRAPOLATION },
  { q: "sum by (host) (rate(kvmon_domain_cpu_seconds_total[5m]))", notVm: NO_EXTRAPOLATION },
  { q: "rate(kvmon_domain_cpu_seconds_total[5m] offset 5m)", notVm: NO_EXTRAPOLATION },
  {
    q: "topk(3, rate(kvmon_domain_cpu_seconds_total[5m]))",
    notVm: NO_EXTRAPOLATION,
  },
  { q: "avg_over_time(kvmon_domain_memory_used_bytes[10m])", vmKeepsName: true },
  { q: "min_over_time(kvmon_domain_memory_used_bytes[10m])", vmKeepsName: true },
  { q: "max_over_time(kvmon_domain_memory_used_bytes[10m])", vmKeepsName: true },
  { q: "sum_over_time(kvmon_domain_memory_used_bytes[3m])", vmKeepsName: true },
  { q: "count_over_time(kvmon_domain_memory_used_bytes[3m])", vmKeepsName: true },
  { q: "last_over_time(kvmon_domain_memory_used_bytes[1m])" },
  { q: "sum without (device) (kvmon_domain_block_read_bytes_total)" },
  { q: "avg by (host) (kvmon_domain_memory_used_bytes)" },
  { q: "min by (host) (kvmon_domain_memory_used_bytes)" },
  { q: "max by (host) (kvmon_domain_memory_used_bytes)" },
  { q: "count by (host) (kvmon_domain_memory_used_bytes)" },
  { q: "sum(kvmon_domain_memory_used_bytes)" },
  { q: "topk(3, kvmon_domain_memory_used_bytes)" },
  { q: "bottomk by (host) (1, kvmon_domain_memory_used_bytes)" },
  { q: "kvmon_domain_memory_used_bytes > 4e9" },
  { q: "kvmon_domain_memory_used_bytes > bool 4e9" },
  { q: "100 * (1 - kvmon_domain_memory_used_bytes / kvmon_domain_memory_max_bytes)" },
  { q: "kvmon_domain_memory_used_bytes * on(host) group_left(rack) kvmon_host_info" },
  { q: "sum by (host) (kvmon_domain_memory_used_bytes) / on(host) kvmon_host_memory_bytes" },
  { q: "kvmon_domain_memory_used_bytes > on(host, domain) kvmon_domain_memory_max_bytes * 0.5" },
  { q: "-kvmon_host_cpus" },
  { q: "abs(kvmon_domain_memory_used_bytes - 3e9)" },
  { q: "clamp_min(kvmon_domain_memory_used_bytes, 2e9)", vmKeepsName: true },
  { q: "clamp_max(kvmon_domain_memory_used_bytes, 2e9)", vmKeepsName: true },
  { q: "round(kvmon_domain_memory_used_bytes / 1e6)" },
  { q: "round(kvmon_domain_memory_used_bytes / 1e6, 5)" },
  { q: "scalar(sum(kvmon_host_cpus))" },
  { q: "kvmon_host_cpus * 2 + on(host) kvmon_host_info" },
  { q: 'kvmon_host_cpus and on(host) kvmon_host_info{rack="r1"}' },
  { q: 'kvmon_host_cpus{host="h1"} or kvmon_host_memory_bytes' },
  { q: 'kvmon_host_cpus unless on(host) kvmon_host_info{rack="r2"}' },
  { q: "-2 ^ 2" },
  { q: "stddev by (host) (kvmon_domain_memory_used_bytes)" },
  { q: "stdvar(kvmon_domain_memory_used_bytes)" },
  { q: "group by (host) (kvmon_domain_memory_used_bytes)" },
  { q: "quantile by (host) (0.9, kvmon_domain_memory_used_bytes)" },
  { q: 'count_values("cpus", kvmon_host_cpus)' },
  { q: "stddev_over_time(kvmon_domain_memory_used_bytes[10m])" },
  { q: "stdvar_over_time(kvmon_domain_memory_used_bytes[10m])" },
  { q: "quantile_over_time(0.5, kvmon_domain_memory_used_bytes[10m])", vmKeepsName: true },
  { q: "present_over_time(kvmon_domain_memory_used_bytes[2m])" },
  { q: "changes(kvmon_domain_memory_max_bytes[10m])", notVm: FROM_BEFORE_WINDOW },
  { q: "changes(kvmon_domain_memory_used_bytes[10m])", notVm: FROM_BEFORE_WINDOW },
  { q: "resets(kvmon_domain_cpu_seconds_total[30m])" },
  { q: "idelta(kvmon_domain_cpu_seconds_total[2m])" },
  { q: "deriv(kvmon_domain_memory_used_bytes[10m])" },
  { q: "predict_linear(kvmon_domain_memory_used_bytes[30m], 3600)", vmKeepsName: true },
  { q: "timestamp(kvmon_host_cpus)" },
  { q: 'absent(kvmon_host_cpus{host="h3", rack="r1"})' },
  { q: 'absent(kvmon_host_cpus{host="h1"})', notVm: EMPTY_WHILE_PRESENT },
  { q: 'absent_over_time(kvmon_domain_memory_used_bytes{domain="gone"}[5m])', notVm: EMPTY_WHILE_PRESENT },
  { q: "sort_desc(kvmon_host_cpus)" },
  { q: "sgn(kvmon_domain_memory_used_bytes - 3e9)" },
  { q: 'label_replace(kvmon_host_cpus, "site", "dc-$1", "host", "h(.*)")' },
  { q: 'label_replace(kvmon_host_info, "rack", "", "rack", "r1")' },
  { q: 'label_join(kvmon_host_info, "where", "/", "rack", "host")' },
  { q: "max_over_time(rate(kvmon_domain_cpu_seconds_total[5m])[30m:1m])", notVm: NO_EXTRAPOLATION },
  { q: "avg_over_time(sum by (host) (kvmon_domain_memory_used_bytes)[10m:])", notVm: SUBQUERY_STEPS },
  { q: "min_over_time(kvmon_domain_memory_used_bytes[10m:45s] offset 5m)", notVm: SUBQUERY_STEPS },
  { q: "rate(kvmon_domain_cpu_seconds_total[10m:15s])", notVm: NO_EXTRAPOLATION },
  { q: `kvmon_domain_memory_used_bytes{host="h1"} @ ${(BASE + 61 * 60_000) / 1000}` },
  { q: "rate(kvmon_domain_cpu_seconds_total[5m] @ end())", notVm: NO_EXTRAPOLATION },
  {
    q: 'kvmon_domain_memory_used_bytes{domain="db-2"} - kvmon_domain_memory_used_bytes{domain="db-2"} @ start()',
  },
  { q: "max_over_time(kvmon_domain_memory_used_bytes[10m:1m] @ end())", notVm: SUBQUERY_STEPS },
  { q: 'kvmon_domain_memory_used_bytes{host="h2"} - kvmon_domain_memory_used_bytes{host="h2"} offset 10m' },
  { q: "-kvmon_host_cpus offset 5m" },
];

type Result = Map<string, { labels: Labels; points: [number, number][] }>;

interface ApiResult {
  resultType: string;
  result: unknown;
}

/** A query result (any type) as label set -> points, values parsed. */
function normalize(data: ApiResult): Result {
  const out: Result = new Map();
  const add = (labels: Labels, points: [number, string][]): void => {
    out.set(labelsKey(labels), { labels, points: points.map(([t, v]) => [t, Number(v)]) });
  };
  if (data.resultType === "scalar") add({}, [data.result as [number, string]]);
  else if (data.resultType === "vector") {
    for (const s of data.result as { metric: Labels; value: [number, string] }[]) add(s.metric, [s.value]);
  } else
    for (const s of data.result as { metric: Labels; values: [number, string][] }[]) add(s.metric, s.values);
  return out;
}

function sameValue(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/** Differences between two results, as readable lines (empty: equal). */
function differences(want: Result, got: Result): string[] {
  const out: string[] = [];
  for (const [key, w] of want) {
    const g = got.get(key);
    if (g === undefined) {
      out.push(`missing ${JSON.stringify(w.labels)}`);
      continue;
    }
    const gByT = new Map(g.points.map(([t, v]) => [t, v]));
    for (const [t, v] of w.points) {
      const gv = gByT.get(t);
      if (gv === undefined) out.push(`${JSON.stringify(w.labels)} @${t}: missing (want ${v})`);
      else if (!sameValue(v, gv)) out.push(`${JSON.stringify(w.labels)} @${t}: ${gv} != ${v}`);
    }
    if (g.points.length !== w.points.length) {
      out.push(`${JSON.stringify(w.labels)}: ${g.points.length} points, want ${w.points.length}`);
    }
  }
  for (const [key, g] of got) if (!want.has(key)) out.push(`extra ${JSON.stringify(g.labels)}`);
  return out;
}

type Ask = (path: string, params: Record<string, string>) => Promise<ApiResult>;

function httpAsk(base: string): Ask {
  return async (path, params) => {
    const res = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as { status: string; data: ApiResult; error?: string };
    if (body.status !== "success") throw new Error(`${base}${path} ${params.query}: ${body.error}`);
    return body.data;
  };
}

function kvmonAsk(store: SeriesStore): Ask {
  const app = promApiRoutes({ store });
  return async (path, params) => {
    const res = await app.request(path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(params).toString(),
    });
    const body = (await res.json()) as { status: string; data: ApiResult; error?: string };
    if (body.status !== "success") throw new Error(`kvmon ${path} ${params.query}: ${body.error}`);
    return body.data;
  };
}

interface Window {
  readonly instants: readonly string[];
  readonly ranges: readonly { start: string; end: string; step: string }[];
}

const secondsOf = (ms: number): string => String(ms / 1000);

/**
 * Where each query is asked (seconds, as Grafana sends them): instants across the data, past the `gone` domain's
 * end and past the data's end (the 5-minute lookback), and two ranges, one with a step that is not a divisor of
 * the sample interval. The second range starts 100 ms past a second: no window edge meets a sample.
 */
const EVERYWHERE: Window = {
  instants: [BASE + 30 * 60_000 + 7_000, BASE + 61 * 60_000, BASE + 93 * 60_000, END + 4 * 60_000].map(
    secondsOf,
  ),
  ranges: [
    { start: secondsOf(BASE + 10 * 60_000), end: secondsOf(END + 10 * 60_000), step: "60" },
    { start: secondsOf(BASE + 3 * 60_000 + 100), end: secondsOf(BASE + 80 * 60_000), step: "37" },
  ],
};

/**
 * Where VictoriaMetrics is compared: while every series has samples. Where a series stops (`gone`, the data's
 * end), VictoriaMetrics ends it after a staleness interval it derives from the sample interval, Prometheus after
 * its fixed 5-minute lookback (kvmon follows Prometheus): a known difference by design.
 */
const WHILE_ALL_PRESENT: Window = {
  instants: [BASE + 30 * 60_000 + 7_000, BASE + 61 * 60_000, BASE + 85 * 60_000].map(secondsOf),
  ranges: [
    { start: secondsOf(BASE + 10 * 60_000), end: secondsOf(BASE + 85 * 60_000), step: "60" },
    { start: secondsOf(BASE + 3 * 60_000 + 100), end: secondsOf(BASE + 80 * 60_000), step: "37" },
  ],
};

const data = fleet();
/** kvmon's reference store, the one the stores over VictoriaMetrics and Prometheus are compared with. */
const memory: SeriesStore = new MemoryStore();
const embeddedDir = mkdtempSync(join(tmpdir(), "kvmon-promql-embedded-"));
/**
 * kvmon's embedded store on the same data, its first hour in closed chunks (with their rollups) and the rest in
 * the head: PromQL over it reads raw samples, whatever the step, so it equals Prometheus too.
 */
const embedded = openEmbeddedStore({ path: join(embeddedDir, "samples.db") });

async function loadEmbedded(): Promise<void> {
  const split = BASE + HOUR;
  const part = (keep: (t: number) => boolean): Series[] =>
    data.map((s) => ({ labels: s.labels, samples: s.samples.filter((x) => keep(x.t)) }));
  await embedded.append(part((t) => t < split));
  embedded.flush();
  await embedded.append(part((t) => t >= split));
}
let vm: RunningVictoriaMetrics;
let prom: RunningPrometheus;
let vmStore: PrometheusStore;

before(async () => {
  await memory.append(data);
  await loadEmbedded();
  [vm, prom] = await Promise.all([
    startVictoriaMetrics({ args: ["-search.disableCache", "-search.latencyOffset=0s"] }),
    startPrometheus(data),
  ]);
  vmStore = new PrometheusStore({ url: vm.url, timeoutMs: 30_000 });
  await vmStore.append(data);
  const flushed = await fetch(`${vm.url}/internal/force_flush`);
  assert.ok(flushed.ok, "force_flush");
});

after(async () => {
  await memory.close();
  await embedded.close();
  rmSync(embeddedDir, { recursive: true, force: true });
  await Promise.all([vm?.stop(), prom?.stop()]);
});

/** Asks `query` of kvmon and a witness at every instant and range of `where`; returns the differences found. */
async function compare(
  kvmon: Ask,
  witness: Ask,
  query: string,
  where: Window,
  dropName = false,
): Promise<string[]> {
  const found: string[] = [];
  let points = 0;
  const norm = (r: ApiResult): Result => (dropName ? withoutNames(normalize(r)) : normalize(r));
  const count = (r: Result): Result => {
    for (const s of r.values()) points += s.points.length;
    return r;
  };
  for (const time of where.instants) {
    const [want, got] = await Promise.all([
      witness("/api/v1/query", { query, time }),
      kvmon("/api/v1/query", { query, time }),
    ]);
    found.push(...differences(count(norm(want)), norm(got)).map((d) => `instant @${time}: ${d}`));
  }
  for (const r of where.ranges) {
    const params = { query, ...r };
    const [want, got] = await Promise.all([
      witness("/api/v1/query_range", params),
      kvmon("/api/v1/query_range", params),
    ]);
    found.push(...differences(count(norm(want)), norm(got)).map((d) => `range ${r.step}s: ${d}`));
  }
  // Every query of the list has an answer on this data: an empty one means the witness did not get the data.
  if (points === 0) found.push("the witness answered nothing at all");
  return found;
}

function withoutNames(r: Result): Result {
  const out: Result = new Map();
  for (const { labels, points } of r.values()) {
    const { __name__: _, ...rest } = labels;
    out.set(labelsKey(rest), { labels: rest, points });
  }
  return out;
}

const summary = (q: string, d: string[]): string =>
  `${q}:\n    ${d.slice(0, 5).join("\n    ")}${d.length > 5 ? `\n    (${d.length} in all)` : ""}`;

/** Asks every query of kvmon and a witness; fails listing each query that differs. */
async function assertSameAnswers(
  kvmon: Ask,
  witness: Ask,
  queries: readonly Query[],
  where: Window,
  vm = false,
): Promise<void> {
  const failures: string[] = [];
  for (const { q, vmKeepsName } of queries) {
    const d = await compare(kvmon, witness, q, where, vm && vmKeepsName === true);
    if (d.length > 0) failures.push(summary(q, d));
  }
  assert.deepEqual(failures, []);
}

test("every dashboard query: kvmon equals Prometheus 2.42, instant and range", async () => {
  await assertSameAnswers(kvmonAsk(memory), httpAsk(prom.url), QUERIES, EVERYWHERE);
});

test("every dashboard query over the embedded store (raw samples, any step): kvmon equals Prometheus 2.42", async () => {
  await assertSameAnswers(kvmonAsk(embedded), httpAsk(prom.url), QUERIES, EVERYWHERE);
});

test("the queries VictoriaMetrics answers like Prometheus: kvmon equals VictoriaMetrics", async () => {
  const queries = QUERIES.filter((x) => x.notVm === undefined);
  await assertSameAnswers(kvmonAsk(memory), httpAsk(vm.url), queries, WHILE_ALL_PRESENT, true);
});

test("kvmon evaluating over VictoriaMetrics (storage = prometheus-compatible URL) answers like over its own store", async () => {
  await assertSameAnswers(kvmonAsk(vmStore), kvmonAsk(memory), QUERIES, EVERYWHERE);
});

test("kvmon evaluating over a plain Prometheus (raw samples by range query) answers like over its own store", async () => {
  const overProm = new PrometheusStore({ url: prom.url, flavor: "prometheus" });
  await assertSameAnswers(kvmonAsk(overProm), kvmonAsk(memory), QUERIES, EVERYWHERE);
});

test("the SeriesStore over VictoriaMetrics: select equals the in-memory store; series and labels at day granularity", async () => {
  const byKey = <T extends { labels: Labels }>(xs: T[]): T[] =>
    xs.sort((a, b) => (labelsKey(a.labels) < labelsKey(b.labels) ? -1 : 1));
  const cases: { matchers: Matcher[]; range: { startMs: number; endMs: number } }[] = [
    {
      matchers: [{ name: "__name__", op: "=", value: "kvmon_domain_cpu_seconds_total" }],
      range: { startMs: BASE, endMs: END },
    },
    {
      matchers: [
        { name: "__name__", op: "=~", value: "kvmon_domain_(memory_used_bytes|block_read_bytes_total)" },
        { name: "domain", op: "!~", value: "web-.*" },
        { name: "device", op: "!=", value: "vdb" },
      ],
      range: { startMs: BASE + 80 * 60_000, endMs: BASE + 100 * 60_000 },
    },
    {
      matchers: [{ name: "host", op: "=", value: "h2" }],
      range: { startMs: END - 60_000, endMs: END + HOUR },
    },
  ];
  for (const { matchers, range } of cases) {
    const [want, got] = await Promise.all([memory.select(matchers, range), vmStore.select(matchers, range)]);
    assert.ok(want.length > 0);
    assert.deepEqual(byKey(got), byKey(want), JSON.stringify(matchers));
    // VictoriaMetrics indexes series per day: its series and label answers name every series with a sample on
    // the range's days, a superset of the series with a sample inside the range (equal when the range holds all).
    const day = { startMs: BASE - 24 * HOUR, endMs: END + 24 * HOUR };
    const within = async <T>(
      ask: (s: SeriesStore, r: typeof range) => Promise<T[]>,
      key: (x: T) => string,
    ): Promise<void> => {
      const [inRange, got, onDays] = await Promise.all([
        ask(memory, range),
        ask(vmStore, range),
        ask(memory, day),
      ]);
      const g = new Set(got.map(key));
      const d = new Set(onDays.map(key));
      for (const x of inRange) assert.ok(g.has(key(x)), `${JSON.stringify(matchers)}: missing ${key(x)}`);
      for (const x of g) assert.ok(d.has(x), `${JSON.stringify(matchers)}: extra ${x}`);
    };
    await within((s, r) => s.series(matchers, r), labelsKey);
    await within((s, r) => s.labelNames(matchers, r), String);
    await within((s, r) => s.labelValues("domain", matchers, r), String);
  }
  const all = { startMs: BASE, endMs: END };
  assert.deepEqual(await vmStore.labelNames([], all), await memory.labelNames([], all));
  assert.deepEqual(
    await vmStore.labelValues("__name__", [], all),
    await memory.labelValues("__name__", [], all),
  );
});

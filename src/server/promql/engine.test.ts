import assert from "node:assert/strict";
import { test } from "node:test";
import { TimeoutError } from "../../shared/errors.ts";
import { MemoryStore } from "../storage/testing/memory-store.ts";
import type { Labels, Matcher, SelectHints, Series, SeriesStore, TimeRange } from "../storage/types.ts";
import { Engine, type EngineOptions, type InstantSample, type QueryResult } from "./engine.ts";
import { PromqlBadParamError, PromqlExecutionError, PromqlLimitError, PromqlParseError } from "./errors.ts";

const S = 1000;

/** A store holding `series`, each given as labels and [seconds, value] pairs. */
async function storeOf(series: [Labels, [number, number][]][]): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.append(
    series.map(([labels, points]) => ({ labels, samples: points.map(([t, v]) => ({ t: t * S, v })) })),
  );
  return store;
}

async function engineOf(series: [Labels, [number, number][]][], opts?: EngineOptions): Promise<Engine> {
  return new Engine(await storeOf(series), opts);
}

function vector(r: QueryResult): InstantSample[] {
  assert.equal(r.resultType, "vector");
  return [...r.samples].sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
}

async function value(engine: Engine, query: string, tSeconds: number): Promise<number | undefined> {
  const r = await engine.instant(query, tSeconds * S);
  if (r.resultType === "scalar") return r.v;
  const samples = vector(r);
  assert.ok(samples.length <= 1, `${query}: ${samples.length} samples`);
  return samples[0]?.v;
}

function close(actual: number | undefined, expected: number, what: string): void {
  assert.ok(
    actual !== undefined && Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} != ${expected}`,
  );
}

const every15s = (from: number, to: number, v: (t: number) => number): [number, number][] => {
  const out: [number, number][] = [];
  for (let t = from; t <= to; t += 15) out.push([t, v(t)]);
  return out;
};

test("rate/increase extrapolate to the window's edges when the samples come near them", async () => {
  const e = await engineOf([[{ __name__: "c_total" }, every15s(10, 295, (t) => t)]]);
  // 20 samples 10..295 s in the window [0, 300]: 285 counted, extended by 10 s and 5 s (both < 1.1 intervals)
  close(await value(e, "increase(c_total[5m])", 300), 300, "increase");
  close(await value(e, "rate(c_total[5m])", 300), 1, "rate");
  close(await value(e, "delta(c_total[5m])", 300), 300, "delta");
});

test("increase extrapolates no further back than where the counter was zero", async () => {
  const e = await engineOf([[{ __name__: "c_total" }, every15s(10, 295, (t) => t - 5)]]);
  // first value 5 after 285 of increase: zero 5 s before the first sample, nearer than the window start (10 s)
  close(await value(e, "increase(c_total[5m])", 300), 295, "increase");
  // delta is no counter: extrapolated the full 10 s
  close(await value(e, "delta(c_total[5m])", 300), 300, "delta");
});

test("samples far from the window edges are extrapolated by half an interval only", async () => {
  const points: [number, number][] = [];
  for (let t = 100; t <= 200; t += 10) points.push([t, t]);
  const e = await engineOf([[{ __name__: "c_total" }, points]]);
  close(await value(e, "increase(c_total[5m])", 300), 110, "increase");
  close(await value(e, "rate(c_total[5m])", 300), 110 / 300, "rate");
});

test("counter resets: rate and increase add the value before the drop; irate takes the value after it", async () => {
  const e = await engineOf([
    [
      { __name__: "c_total" },
      [
        [0, 10],
        [15, 20],
        [30, 5],
        [45, 15],
      ],
    ],
    [
      { __name__: "r_total" },
      [
        [0, 10],
        [15, 20],
        [30, 25],
        [45, 5],
      ],
    ],
  ]);
  close(await value(e, "increase(c_total[45s])", 45), 25, "increase over a reset");
  close(await value(e, "rate(c_total[45s])", 45), 25 / 45, "rate over a reset");
  close(await value(e, "delta(c_total[45s])", 45), 5, "delta ignores resets");
  close(await value(e, "irate(c_total[45s])", 45), 10 / 15, "irate");
  close(await value(e, "irate(r_total[45s])", 45), 5 / 15, "irate after a reset");
  assert.equal(await value(e, "rate(c_total[10s])", 45), undefined, "one sample in the window: no rate");
});

test("instant vectors look back 5 minutes, the boundary included", async () => {
  const e = await engineOf([
    [{ __name__: "g" }, [[0, 7]]],
    [{ __name__: "n" }, [[0, NaN]]],
  ]);
  assert.equal(await value(e, "g", 300), 7);
  assert.equal(await value(e, "g", 300.001), undefined);
  assert.equal(await value(e, "g", -0.001), undefined);
  assert.ok(Number.isNaN(await value(e, "n", 10)), "a NaN is a value");
});

test("offset moves the selection back (and a negative one forward)", async () => {
  const e = await engineOf([
    [
      { __name__: "g" },
      [
        [0, 1],
        [100, 2],
        [200, 3],
      ],
    ],
  ]);
  assert.equal(await value(e, "g", 200), 3);
  assert.equal(await value(e, "g offset 100s", 200), 2);
  assert.equal(await value(e, "g offset -100s", 100), 3);
  assert.equal(await value(e, "sum_over_time(g[150s] offset 50s)", 200), 3);
});

test("*_over_time over a window, NaN kept where Prometheus keeps it", async () => {
  const e = await engineOf([
    [
      { __name__: "g", a: "1" },
      [
        [10, 4],
        [20, 1],
        [30, 7],
        [40, 2],
      ],
    ],
    [
      { __name__: "h" },
      [
        [10, NaN],
        [20, 3],
        [30, NaN],
      ],
    ],
  ]);
  close(await value(e, "avg_over_time(g[1m])", 40), 3.5, "avg");
  assert.equal(await value(e, "min_over_time(g[1m])", 40), 1);
  assert.equal(await value(e, "max_over_time(g[1m])", 40), 7);
  assert.equal(await value(e, "sum_over_time(g[1m])", 40), 14);
  assert.equal(await value(e, "count_over_time(g[1m])", 40), 4);
  assert.equal(await value(e, "last_over_time(g[1m])", 40), 2);
  assert.equal(await value(e, "count_over_time(g[15s])", 40), 2, "window [25, 40]");
  assert.equal(await value(e, "max_over_time(h[1m])", 40), 3, "max skips NaN");
  assert.equal(await value(e, "min_over_time(g[1m])", 200), undefined, "empty window: absent");
  const last = vector(await e.instant("last_over_time(g[1m])", 40 * S));
  assert.deepEqual(last[0]?.labels, { __name__: "g", a: "1" }, "last_over_time keeps the name");
  const max = vector(await e.instant("max_over_time(g[1m])", 40 * S));
  assert.deepEqual(max[0]?.labels, { a: "1" }, "other functions drop it");
});

const fleet: [Labels, [number, number][]][] = [
  [{ __name__: "cpu", host: "a", dom: "x" }, [[0, 1]]],
  [{ __name__: "cpu", host: "a", dom: "y" }, [[0, 3]]],
  [{ __name__: "cpu", host: "b", dom: "z" }, [[0, 8]]],
  [{ __name__: "mem", host: "a", dom: "x" }, [[0, 10]]],
  [{ __name__: "mem", host: "a", dom: "y" }, [[0, 30]]],
  [{ __name__: "mem", host: "b", dom: "z" }, [[0, 80]]],
  [{ __name__: "hostinfo", host: "a", rack: "r1" }, [[0, 1]]],
  [{ __name__: "hostinfo", host: "b", rack: "r2" }, [[0, 1]]],
];

test("aggregations by and without; topk and bottomk keep the series' labels", async () => {
  const e = await engineOf(fleet);
  assert.deepEqual(vector(await e.instant("sum by (host) (cpu)", 0)), [
    { labels: { host: "a" }, v: 4 },
    { labels: { host: "b" }, v: 8 },
  ]);
  assert.deepEqual(vector(await e.instant("sum without (dom) (cpu)", 0)), [
    { labels: { host: "a" }, v: 4 },
    { labels: { host: "b" }, v: 8 },
  ]);
  assert.deepEqual(vector(await e.instant("avg(cpu)", 0)), [{ labels: {}, v: 4 }]);
  assert.deepEqual(vector(await e.instant("min(cpu)", 0)), [{ labels: {}, v: 1 }]);
  assert.deepEqual(vector(await e.instant("max by (host) (cpu)", 0)), [
    { labels: { host: "a" }, v: 3 },
    { labels: { host: "b" }, v: 8 },
  ]);
  assert.deepEqual(vector(await e.instant("count by (host) (cpu)", 0)), [
    { labels: { host: "a" }, v: 2 },
    { labels: { host: "b" }, v: 1 },
  ]);
  assert.deepEqual(vector(await e.instant("topk(2, cpu)", 0)), [
    { labels: { __name__: "cpu", host: "a", dom: "y" }, v: 3 },
    { labels: { __name__: "cpu", host: "b", dom: "z" }, v: 8 },
  ]);
  assert.deepEqual(vector(await e.instant("bottomk by (host) (1, cpu)", 0)), [
    { labels: { __name__: "cpu", host: "a", dom: "x" }, v: 1 },
    { labels: { __name__: "cpu", host: "b", dom: "z" }, v: 8 },
  ]);
  assert.deepEqual(vector(await e.instant("topk(0, cpu)", 0)), []);
  assert.deepEqual(vector(await e.instant("sum(nothing)", 0)), [], "empty input: empty result");
});

test("vector and scalar: arithmetic drops the name, comparisons filter and keep it, bool gives 0/1", async () => {
  const e = await engineOf(fleet);
  assert.deepEqual(vector(await e.instant('cpu{dom="x"} * 2', 0)), [
    { labels: { host: "a", dom: "x" }, v: 2 },
  ]);
  assert.deepEqual(vector(await e.instant('10 - cpu{dom="x"}', 0)), [
    { labels: { host: "a", dom: "x" }, v: 9 },
  ]);
  assert.deepEqual(vector(await e.instant("cpu > 2", 0)), [
    { labels: { __name__: "cpu", host: "a", dom: "y" }, v: 3 },
    { labels: { __name__: "cpu", host: "b", dom: "z" }, v: 8 },
  ]);
  assert.deepEqual(
    vector(await e.instant("2 < cpu", 0)).map((s) => s.v),
    [3, 8],
    "scalar on the left: vector value",
  );
  assert.deepEqual(
    vector(await e.instant("cpu > bool 2", 0)).map((s) => [s.labels.__name__, s.v]),
    [
      [undefined, 0],
      [undefined, 1],
      [undefined, 1],
    ],
  );
  assert.deepEqual(vector(await e.instant('-cpu{dom="x"}', 0)), [{ labels: { host: "a", dom: "x" }, v: -1 }]);
  assert.equal(await value(e, "1 + 2 * 3 ^ 2", 0), 19);
  assert.equal(await value(e, "2 > bool 1", 0), 1);
  assert.equal(await value(e, "(1 + 1) / 4", 0), 0.5);
  assert.equal(await value(e, "-2 ^ 2", 0), -4, "as Prometheus: the minus is unary, looser than ^");
  assert.equal(await value(e, "2 ^ -1", 0), 0.5);
  assert.ok(Number.isNaN(await value(e, "-NaN ^ 2", 0)));
  assert.equal(await value(e, "5 % 3", 0), 2);
  assert.equal(await value(e, "1 / 0", 0), Infinity);
});

test("vector matching: all labels but the name, on(), ignoring(), group_left, and the errors of ambiguous matches", async () => {
  const e = await engineOf(fleet);
  assert.deepEqual(vector(await e.instant("mem / cpu", 0)), [
    { labels: { host: "a", dom: "x" }, v: 10 },
    { labels: { host: "a", dom: "y" }, v: 10 },
    { labels: { host: "b", dom: "z" }, v: 10 },
  ]);
  assert.deepEqual(vector(await e.instant("mem >= on(host, dom) (cpu + 25)", 0)), [
    { labels: { host: "a", dom: "y" }, v: 30 },
    { labels: { host: "b", dom: "z" }, v: 80 },
  ]);
  assert.deepEqual(
    vector(await e.instant('mem{dom="z"} - ignoring(dom) sum by (host) (cpu)', 0)),
    [{ labels: { host: "b" }, v: 72 }],
    "ignoring(dom): the result loses dom too",
  );
  assert.deepEqual(vector(await e.instant("sum by (host) (mem) / on(host) sum by (host) (cpu)", 0)), [
    { labels: { host: "a" }, v: 10 },
    { labels: { host: "b" }, v: 10 },
  ]);
  assert.deepEqual(vector(await e.instant("cpu * on(host) group_left(rack) hostinfo", 0)), [
    { labels: { host: "a", dom: "x", rack: "r1" }, v: 1 },
    { labels: { host: "a", dom: "y", rack: "r1" }, v: 3 },
    { labels: { host: "b", dom: "z", rack: "r2" }, v: 8 },
  ]);
  assert.deepEqual(
    vector(await e.instant("hostinfo * on(host) group_right cpu", 0)).map((s) => s.v),
    [1, 3, 8],
  );
  await assert.rejects(
    e.instant("cpu * on(host) hostinfo", 0),
    PromqlExecutionError,
    "two cpu series per host: one-to-one fails",
  );
  await assert.rejects(
    e.instant("hostinfo * on(host) cpu", 0),
    PromqlExecutionError,
    "duplicates on the right",
  );
  await assert.rejects(e.instant('abs({__name__=~"cpu|mem"})', 0), PromqlExecutionError, "same labelset");
});

test("set operators and, or, unless match on labels", async () => {
  const e = await engineOf(fleet);
  assert.deepEqual(
    vector(await e.instant("cpu and mem > 20", 0)).map((s) => s.labels.dom),
    ["y", "z"],
  );
  assert.deepEqual(
    vector(await e.instant("cpu unless mem > 20", 0)).map((s) => s.labels.dom),
    ["x"],
  );
  const or = vector(await e.instant('cpu{dom="x"} or mem', 0));
  assert.deepEqual(
    or.map((s) => `${s.labels.__name__}/${s.labels.dom}`),
    ["cpu/x", "mem/y", "mem/z"],
  );
});

test("functions over instant vectors and scalars", async () => {
  const e = await engineOf([[{ __name__: "g", k: "v" }, [[0, -2.5]]]]);
  assert.equal(await value(e, "abs(g)", 0), 2.5);
  assert.equal(await value(e, "round(g)", 0), -2, "half up, as Prometheus");
  assert.equal(await value(e, "round(g, 2)", 0), -2);
  assert.equal(await value(e, "clamp_min(g, 0)", 0), 0);
  assert.equal(await value(e, "clamp_max(g, -3)", 0), -3);
  assert.equal(await value(e, "clamp(g, -1, 1)", 0), -1);
  assert.equal(await value(e, "clamp(g, 1, -1)", 0), undefined, "min > max: nothing");
  assert.equal(await value(e, "ceil(g)", 0), -2);
  assert.equal(await value(e, "scalar(g)", 0), -2.5);
  assert.ok(Number.isNaN(await value(e, "scalar(nothing)", 0)));
  assert.equal(await value(e, "time()", 12.5), 12.5);
  assert.deepEqual(vector(await e.instant("vector(3)", 0)), [{ labels: {}, v: 3 }]);
  assert.deepEqual(vector(await e.instant("abs(g)", 0))[0]?.labels, { k: "v" });
});

test("range queries: evaluated at start + n * step, one series per label set, a scalar as one unlabelled series", async () => {
  const e = await engineOf([
    [
      { __name__: "g", a: "2" },
      [
        [0, 1],
        [30, 2],
        [60, 3],
      ],
    ],
    [{ __name__: "g", a: "1" }, [[45, 9]]],
  ]);
  const r = await e.range("g", 0, 60 * S, 20 * S);
  assert.equal(r.resultType, "matrix");
  assert.deepEqual(r.series, [
    { labels: { __name__: "g", a: "1" }, samples: [{ t: 60 * S, v: 9 }] },
    {
      labels: { __name__: "g", a: "2" },
      samples: [
        { t: 0, v: 1 },
        { t: 20 * S, v: 1 },
        { t: 40 * S, v: 2 },
        { t: 60 * S, v: 3 },
      ],
    },
  ]);
  const t = await e.range("time()", 0, 2 * S, S);
  assert.equal(t.resultType, "matrix");
  assert.deepEqual(t.series, [{ labels: {}, samples: [0, 1, 2].map((x) => ({ t: x * S, v: x })) }]);
  const empty = await e.range("nothing", 0, 60 * S, 20 * S);
  assert.deepEqual(empty.resultType === "matrix" && empty.series, []);
});

test("an instant query of a range selector returns the raw samples", async () => {
  const e = await engineOf([
    [
      { __name__: "g" },
      [
        [0, 1],
        [30, 2],
        [60, 3],
      ],
    ],
  ]);
  const r = await e.instant("g[45s]", 60 * S);
  assert.equal(r.resultType, "matrix");
  assert.deepEqual(r.series[0]?.samples, [
    { t: 30 * S, v: 2 },
    { t: 60 * S, v: 3 },
  ]);
  await assert.rejects(e.range("g[45s]", 0, S, S), /invalid expression type "range vector" for range query/);
});

test("bad queries and parameters fail before reading the store, with the position", async () => {
  const e = await engineOf([]);
  await assert.rejects(
    e.instant("sum(rate(x[5m])", 0),
    (err) =>
      err instanceof PromqlParseError && /^1:16: parse error: unexpected end of input/.test(err.message),
  );
  await assert.rejects(
    e.instant("histogram_quantile(0.9, x)", 0),
    /1:1: parse error: function "histogram_quantile" is not supported/,
  );
  await assert.rejects(
    e.instant("rate(x)", 0),
    /1:6: parse error: expected type range vector in call to function "rate", got instant vector/,
  );
  await assert.rejects(e.instant('{a=~".*"}', 0), /at least one non-empty matcher/);
  await assert.rejects(e.instant('x{a=~"("}', 0), /invalid regular expression/);
  await assert.rejects(e.instant("1 > 2", 0), /comparisons between scalars must use BOOL modifier/);
  await assert.rejects(e.range("x", 10 * S, 0, S), PromqlBadParamError);
  await assert.rejects(e.range("x", 0, 10 * S, 0), /zero or negative query resolution step/);
  await assert.rejects(
    e.range("x", 0, 11_000 * S, S),
    /exceeded maximum resolution of 11,000 points per timeseries/,
  );
  await e.range("x", 0, 10_999 * S, S);
});

test("matchers of all four kinds select series; names with odd characters pass through", async () => {
  const e = await engineOf([
    [{ __name__: "g", dom: "web-1" }, [[0, 1]]],
    [{ __name__: "g", dom: "web-2" }, [[0, 2]]],
    [{ __name__: "g", dom: 'db "main"\n' }, [[0, 3]]],
  ]);
  const doms = async (q: string): Promise<(string | undefined)[]> =>
    vector(await e.instant(q, 0)).map((s) => s.labels.dom);
  assert.deepEqual(await doms('g{dom="web-1"}'), ["web-1"]);
  assert.deepEqual(await doms('g{dom!="web-1"}'), ['db "main"\n', "web-2"]);
  assert.deepEqual(await doms('g{dom=~"web-.*"}'), ["web-1", "web-2"]);
  assert.deepEqual(
    await doms('g{dom!~"web"}'),
    ['db "main"\n', "web-1", "web-2"],
    "anchored: web matches nothing",
  );
  assert.deepEqual(await doms('g{dom="db \\"main\\"\\n"}'), ['db "main"\n']);
  assert.deepEqual(await doms('{__name__="g", dom=~"web-2|x"}'), ["web-2"]);
});

/** A store that records its select calls and can hang. */
class SpyStore implements SeriesStore {
  readonly calls: { matchers: readonly Matcher[]; range: TimeRange; hints: SelectHints | undefined }[] = [];
  readonly inner: SeriesStore;
  hang = false;
  constructor(inner: SeriesStore) {
    this.inner = inner;
  }
  append(batch: readonly Series[]): Promise<void> {
    return this.inner.append(batch);
  }
  select(matchers: readonly Matcher[], range: TimeRange, hints?: SelectHints): Promise<Series[]> {
    this.calls.push({ matchers, range, hints });
    return this.hang ? new Promise(() => undefined) : this.inner.select(matchers, range, hints);
  }
  series = (m: readonly Matcher[], r: TimeRange): Promise<Labels[]> => this.inner.series(m, r);
  labelNames = (m: readonly Matcher[], r: TimeRange): Promise<string[]> => this.inner.labelNames(m, r);
  labelValues = (n: string, m: readonly Matcher[], r: TimeRange): Promise<string[]> =>
    this.inner.labelValues(n, m, r);
  close = (): Promise<void> => this.inner.close();
}

test("select gets the window each selector needs and hints (step, function) for rollups", async () => {
  const spy = new SpyStore(await storeOf(fleet));
  const e = new Engine(spy);
  await e.range("rate(cpu[5m] offset 1m) + mem", 3600 * S, 7200 * S, 60 * S);
  assert.deepEqual(spy.calls, [
    {
      matchers: [{ name: "__name__", op: "=", value: "cpu" }],
      range: { startMs: (3600 - 60 - 300) * S, endMs: (7200 - 60) * S },
      hints: { stepMs: 60 * S, func: "rate" },
    },
    {
      matchers: [{ name: "__name__", op: "=", value: "mem" }],
      range: { startMs: (3600 - 300) * S, endMs: 7200 * S },
      hints: { stepMs: 60 * S },
    },
  ]);
  spy.calls.length = 0;
  await e.range("timestamp(cpu) + abs(mem)", 3600 * S, 7200 * S, 60 * S);
  assert.deepEqual(
    spy.calls.map((c) => c.hints),
    [{ stepMs: 60 * S, func: "timestamp" }, { stepMs: 60 * S }],
    "timestamp() needs the samples' own times; abs() can take any sample",
  );
});

test("limits: too many series is an error, a store that hangs ends in TimeoutError, a caller can abort", async () => {
  const few = new Engine(await storeOf(fleet), { maxSeries: 5 });
  await few.instant("cpu", 0);
  await assert.rejects(few.instant("cpu + mem", 0), PromqlLimitError);
  const small = new Engine(await storeOf(fleet), { maxSamples: 3 });
  await small.instant("cpu", 0);
  await assert.rejects(small.instant("cpu + mem", 0), /too many samples/);
  const spy = new SpyStore(await storeOf(fleet));
  spy.hang = true;
  const slow = new Engine(spy, { timeoutMs: 50 });
  await assert.rejects(slow.instant("cpu", 0), (err) => err instanceof TimeoutError && err.timeoutMs === 50);
  const shorter = new Engine(spy).instant("cpu", 0, { timeoutMs: 30 });
  await assert.rejects(shorter, (err) => err instanceof TimeoutError && err.timeoutMs === 30);
  const longer = slow.instant("cpu", 0, { timeoutMs: 60_000 });
  await assert.rejects(
    longer,
    (err) => err instanceof TimeoutError && err.timeoutMs === 50,
    "never past the engine's",
  );
  const controller = new AbortController();
  const pending = new Engine(spy).instant("cpu", 0, { signal: controller.signal });
  controller.abort();
  await assert.rejects(pending, TimeoutError);
});

test("statistics: stddev, stdvar, quantile, group, count_values and their _over_time forms", async () => {
  const e = await engineOf([
    [{ __name__: "v", k: "a" }, [[0, 2]]],
    [{ __name__: "v", k: "b" }, [[0, 4]]],
    [{ __name__: "v", k: "c" }, [[0, 4]]],
    [{ __name__: "v", k: "d" }, [[0, 10]]],
    [
      { __name__: "w" },
      [
        [10, 1],
        [20, 3],
        [30, 3],
        [40, 1],
        [50, 2],
      ],
    ],
  ]);
  close(await value(e, "stdvar(v)", 0), 9, "stdvar");
  close(await value(e, "stddev(v)", 0), 3, "stddev");
  assert.equal(await value(e, "quantile(0.5, v)", 0), 4);
  close(await value(e, "quantile(0.9, v)", 0), 8.2, "rank 2.7: 0.3 of 4 and 0.7 of 10");
  assert.equal(await value(e, "quantile(2, v)", 0), Infinity);
  assert.equal(await value(e, "group(v)", 0), 1);
  assert.deepEqual(vector(await e.instant('count_values("n", v)', 0)), [
    { labels: { n: "10" }, v: 1 },
    { labels: { n: "2" }, v: 1 },
    { labels: { n: "4" }, v: 2 },
  ]);
  assert.equal(await value(e, "changes(w[1m])", 50), 3);
  assert.equal(await value(e, "resets(w[1m])", 50), 1);
  assert.equal(await value(e, "idelta(w[1m])", 50), 1);
  assert.equal(await value(e, "quantile_over_time(0.5, w[1m])", 50), 2);
  close(await value(e, "stdvar_over_time(w[1m])", 50), 0.8, "stdvar_over_time");
  assert.equal(await value(e, "present_over_time(w[1m])", 50), 1);
  assert.equal(await value(e, "present_over_time(w[5s])", 200), undefined);
});

test("deriv and predict_linear fit a least-squares line; constant values have slope 0", async () => {
  const e = await engineOf([
    [
      { __name__: "lin" },
      [
        [0, 10],
        [10, 30],
        [20, 50],
        [30, 70],
      ],
    ],
    [
      { __name__: "flat" },
      [
        [0, 5],
        [10, 5],
        [20, 5],
      ],
    ],
  ]);
  close(await value(e, "deriv(lin[1m])", 30), 2, "deriv");
  close(await value(e, "predict_linear(lin[1m], 100)", 30), 270, "predict_linear from the evaluation time");
  assert.equal(await value(e, "deriv(flat[1m])", 30), 0);
  assert.equal(await value(e, "predict_linear(flat[1m], 100)", 30), 5);
});

test("timestamp, absent, sort, label_replace and label_join", async () => {
  const e = await engineOf([
    [{ __name__: "g", host: "h1", rack: "r1" }, [[7, 1]]],
    [{ __name__: "g", host: "h2", rack: "r2" }, [[9, 5]]],
  ]);
  assert.deepEqual(vector(await e.instant('timestamp(g{host="h1"})', 60 * S)), [
    { labels: { host: "h1", rack: "r1" }, v: 7 },
  ]);
  assert.deepEqual(
    vector(await e.instant('timestamp(g{host="h1"} * 1)', 60 * S)).map((s) => s.v),
    [60],
    "computed: now",
  );
  assert.deepEqual(vector(await e.instant('absent(nothing{job="x", a=~"y", b="1", b="2"})', 0)), [
    { labels: { job: "x" }, v: 1 },
  ]);
  assert.deepEqual(vector(await e.instant("absent(g)", 10 * S)), []);
  assert.deepEqual(vector(await e.instant('absent_over_time(g{host="h3"}[1m])', 10 * S)), [
    { labels: { host: "h3" }, v: 1 },
  ]);
  const sorted = await e.instant("sort_desc(g)", 10 * S);
  assert.deepEqual(sorted.resultType === "vector" && sorted.samples.map((s) => s.v), [5, 1]);
  assert.deepEqual(
    vector(await e.instant('label_replace(g, "n", "node-$1${1}", "host", "h(.*)")', 10 * S)).map(
      (s) => s.labels.n,
    ),
    ["node-11", "node-22"],
  );
  assert.deepEqual(
    vector(await e.instant('label_replace(g, "rack", "", "host", "h1")', 10 * S)).map((s) => s.labels.rack),
    [undefined, "r2"],
  );
  assert.deepEqual(
    vector(await e.instant('label_join(g, "where", "/", "rack", "host")', 10 * S)).map((s) => s.labels.where),
    ["r1/h1", "r2/h2"],
  );
  const collapse = 'label_replace(label_replace(g, "rack", "x", "rack", ".*"), "host", "x", "host", ".*")';
  await assert.rejects(e.instant(collapse, 10 * S), /same labelset/);
  await assert.rejects(
    e.instant('label_replace(g, "1bad", "x", "host", ".*")', 10 * S),
    /invalid destination label name/,
  );
});

test("subqueries: the inner expression at step-aligned times of the window, each time evaluated once", async () => {
  const spy = new SpyStore(
    await storeOf([
      [
        { __name__: "g", k: "a" },
        [
          [0, 1],
          [25, 5],
          [50, 2],
          [75, 9],
          [100, 4],
        ],
      ],
      [{ __name__: "g", k: "b" }, [[0, 3]]],
    ]),
  );
  const e = new Engine(spy);
  // g at 40, 60, 80, 100 (multiples of 20 s in [40, 100]): a = 5, 2, 9, 4
  assert.deepEqual(vector(await e.instant('max_over_time(g{k="a"}[1m:20s])', 100 * S)), [
    { labels: { k: "a" }, v: 9 },
  ]);
  assert.equal(await value(e, 'count_over_time(g{k="a"}[1m:20s])', 100), 4);
  assert.equal(await value(e, 'count_over_time(g{k="a"}[1m:20s] offset 30s)', 100), 3, "10..70: 20, 40, 60");
  assert.equal(await value(e, "max_over_time(sum(g)[100s:50s])", 100), 7, "sums 4, 5, 7 at 0, 50, 100");
  const raw = await e.instant('g{k="a"}[40s:20s]', 100 * S);
  assert.deepEqual(raw.resultType === "matrix" && raw.series, [
    {
      labels: { __name__: "g", k: "a" },
      samples: [60, 80, 100].map((t, i) => ({ t: t * S, v: [2, 9, 4][i] })),
    },
  ]);
  spy.calls.length = 0;
  const r = await e.range('max_over_time(g{k="a"}[1m:])', 0, 600 * S, 60 * S);
  assert.equal(r.resultType, "matrix");
  assert.deepEqual(
    spy.calls[0]?.range,
    { startMs: -60 * S - 300 * S, endMs: 600 * S },
    "the window reaches back by the range",
  );
  assert.deepEqual(spy.calls[0]?.hints, { stepMs: 60 * S }, "the subquery's default step of 1 minute");
});

test("the @ modifier fixes a selector's or subquery's time: a number, start() or end()", async () => {
  const e = await engineOf([
    [
      { __name__: "g" },
      [
        [0, 1],
        [60, 2],
        [120, 3],
        [180, 4],
      ],
    ],
  ]);
  const r = await e.range("g @ 60 + g", 0, 180 * S, 60 * S);
  assert.deepEqual(r.resultType === "matrix" && r.series[0]?.samples.map((p) => p.v), [3, 4, 5, 6]);
  const ends = await e.range("g @ end() - g @ start()", 0, 120 * S, 60 * S);
  assert.deepEqual(ends.resultType === "matrix" && ends.series[0]?.samples.map((p) => p.v), [2, 2, 2]);
  assert.equal(await value(e, "max_over_time(g[1m] @ 120)", 0), 3);
  assert.equal(await value(e, "count_over_time(g[2m:1m] @ 180 offset 60s)", 0), 3, "0, 60, 120");
  assert.equal(await value(e, "g @ 60 offset 60s", 999), 1);
});

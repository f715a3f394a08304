import assert from "node:assert/strict";
import type { Server } from "node:http";
import { test } from "node:test";
import { z } from "zod";
import { counter, gauge } from "../../metrics/catalog.ts";
import { KvmonError } from "../../shared/errors.ts";
import { MemoryStore } from "../storage/testing/memory-store.ts";
import { formatValue } from "../promql/values.ts";
import { promApiRoutes } from "./routes.ts";

const NOW = 1_700_000_000_000;
const cpu = counter("kvmon_domain_cpu_seconds_total", "CPU time used by the domain.", { source: "cpu.time" });
const mem = gauge("kvmon_domain_memory_used_bytes", "Memory used inside the guest.", { source: "balloon" });

async function app(): Promise<ReturnType<typeof promApiRoutes>> {
  const store = new MemoryStore();
  const series = [];
  for (const dom of ["web-1", "web-2", "db"]) {
    const samples = [];
    for (let t = NOW - 3600_000; t <= NOW; t += 15_000) samples.push({ t, v: (t - NOW + 3600_000) / 1000 });
    series.push({ labels: { __name__: cpu.name, host: "h1", domain: dom }, samples });
    series.push({
      labels: { __name__: mem.name, host: "h1", domain: dom },
      samples: [{ t: NOW - 60_000, v: 2 ** 30 }],
    });
  }
  await store.append(series);
  return promApiRoutes({ store, now: () => NOW, catalog: [cpu, mem], version: "0.1.0" });
}

const success = <T extends z.ZodType>(data: T) =>
  z.object({ status: z.literal("success"), data, warnings: z.array(z.string()).optional() }).strict();
const failure = z
  .object({ status: z.literal("error"), errorType: z.string(), error: z.string().min(1) })
  .strict();
const labels = z.record(z.string(), z.string());
const point = z.tuple([z.number(), z.string()]);
const vectorData = z.object({
  resultType: z.literal("vector"),
  result: z.array(z.object({ metric: labels, value: point }).strict()),
});
const matrixData = z.object({
  resultType: z.literal("matrix"),
  result: z.array(z.object({ metric: labels, values: z.array(point) }).strict()),
});
const scalarData = z.object({ resultType: z.literal("scalar"), result: point });

const form = (fields: Record<string, string>): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString(),
});

async function json<T extends z.ZodType>(res: Response, schema: T, status = 200): Promise<z.infer<T>> {
  assert.equal(res.status, status, `HTTP ${res.status}`);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  return schema.parse(await res.json());
}

test("the request sequence of Grafana adding the data source and opening a dashboard: every answer's shape", async () => {
  const a = await app();
  const start = String((NOW - 3600_000) / 1000);
  const end = String(NOW / 1000);
  // Save & test: the `1+1` health query (POST form by default), then buildinfo.
  const health = await json(
    await a.request("/api/v1/query", form({ query: "1+1", time: end })),
    success(scalarData),
  );
  assert.deepEqual(health.data.result, [NOW / 1000, "2"]);
  const info = await json(
    await a.request("/api/v1/status/buildinfo"),
    success(z.record(z.string(), z.string())),
  );
  assert.equal(info.data.version, "2.42.0");
  assert.equal(info.data.features, undefined, "no features: Grafana must not take kvmon for Mimir");
  // The query editor starts: metric names, metadata, label names.
  const names = await json(
    await a.request(`/api/v1/label/__name__/values?start=${start}&end=${end}`),
    success(z.array(z.string())),
  );
  assert.deepEqual(names.data, [cpu.name, mem.name]);
  const meta = await json(
    await a.request("/api/v1/metadata"),
    success(
      z.record(z.string(), z.array(z.object({ type: z.string(), help: z.string(), unit: z.string() }))),
    ),
  );
  assert.deepEqual(meta.data[cpu.name], [{ type: "counter", help: cpu.help, unit: "" }]);
  const labelNames = await json(
    await a.request(
      `/api/v1/labels?start=${start}&end=${end}&match[]=${encodeURIComponent(`{__name__="${mem.name}"}`)}`,
    ),
    success(z.array(z.string())),
  );
  assert.deepEqual(labelNames.data, ["__name__", "domain", "host"]);
  // Label values for a template variable, and series for the label browser.
  const doms = await json(
    await a.request(
      `/api/v1/label/domain/values?start=${start}&end=${end}&match[]=${encodeURIComponent(`${cpu.name}{domain=~"web.*"}`)}`,
    ),
    success(z.array(z.string())),
  );
  assert.deepEqual(doms.data, ["web-1", "web-2"]);
  const series = await json(
    await a.request(
      `/api/v1/series?start=${start}&end=${end}&match[]=${encodeURIComponent(mem.name)}&limit=2`,
    ),
    success(z.array(labels)),
  );
  assert.equal(series.data.length, 2);
  assert.equal(series.data[0]?.__name__, mem.name);
  // A dashboard panel: range query, form POST, float seconds, step in seconds, Grafana's timeout.
  const panel = await json(
    await a.request(
      "/api/v1/query_range",
      form({
        query: `sum by (domain) (rate(${cpu.name}[5m]))`,
        start: String((NOW - 600_000) / 1000),
        end,
        step: "60",
        timeout: "30s",
      }),
    ),
    success(matrixData),
  );
  assert.equal(panel.data.result.length, 3);
  for (const s of panel.data.result) {
    assert.deepEqual(Object.keys(s.metric), ["domain"]);
    assert.equal(s.values.length, 11);
    for (const [, v] of s.values) assert.ok(Math.abs(Number(v) - 1) < 1e-9, v);
  }
  // An instant query of a table panel (GET).
  const table = await json(
    await a.request(`/api/v1/query?query=${encodeURIComponent(`topk(1, ${mem.name})`)}&time=${end}`),
    success(vectorData),
  );
  assert.equal(table.data.result.length, 1);
  assert.deepEqual(table.data.result[0]?.value, [NOW / 1000, "1073741824"]);
  const exemplars = await json(
    await a.request("/api/v1/query_exemplars", form({ query: cpu.name, start, end })),
    success(z.array(z.unknown())),
  );
  assert.deepEqual(exemplars.data, []);
});

test("times as RFC 3339 or unix seconds, durations as 5m or seconds; the default time is now", async () => {
  const a = await app();
  const iso = new Date(NOW).toISOString();
  const r = await json(
    await a.request(`/api/v1/query_range?query=time()&start=${iso}&end=${NOW / 1000}&step=1m`),
    success(matrixData),
  );
  assert.deepEqual(r.data.result[0]?.values, [[NOW / 1000, String(NOW / 1000)]]);
  const now = await json(await a.request("/api/v1/query?query=time()"), success(scalarData));
  assert.deepEqual(now.data.result, [NOW / 1000, String(NOW / 1000)]);
});

test("errors: 400 bad_data naming the problem, 422 execution, the Prometheus error envelope", async () => {
  const a = await app();
  const bad = await json(await a.request("/api/v1/query?query=sum(rate(x[5m])"), failure, 400);
  assert.equal(bad.errorType, "bad_data");
  assert.match(bad.error, /^1:16: parse error: unexpected end of input/);
  const cases: [string, RegExp][] = [
    ["/api/v1/query", /invalid parameter "query": missing/],
    ["/api/v1/query?query=up&time=yesterday", /invalid parameter "time": cannot parse "yesterday"/],
    ["/api/v1/query_range?query=up&start=0&end=10", /invalid parameter "step": missing/],
    ["/api/v1/query_range?query=up&start=0&end=10&step=0", /zero or negative query resolution step/],
    ["/api/v1/query_range?query=up&start=10&end=0&step=1", /end timestamp must not be before start time/],
    [
      "/api/v1/query_range?query=up&start=0&end=100000&step=1",
      /exceeded maximum resolution of 11,000 points/,
    ],
    ["/api/v1/query?query=up&timeout=soon", /invalid parameter "timeout"/],
    ["/api/v1/series", /no match\[\] parameter provided/],
    ["/api/v1/series?match[]=rate(x[5m])", /expected a series selector/],
    ["/api/v1/label/bad-name/values", /invalid label name/],
    ["/api/v1/query?query=histogram_quantile(0.9,x)", /function "histogram_quantile" is not supported/],
  ];
  for (const [url, message] of cases) {
    const body = await json(await a.request(url), failure, 400);
    assert.equal(body.errorType, "bad_data", url);
    assert.match(body.error, message, url);
  }
  const exec = await json(
    await a.request(`/api/v1/query?query=${encodeURIComponent(`${cpu.name} * on(host) ${mem.name}`)}`),
    failure,
    422,
  );
  assert.equal(exec.errorType, "execution");
});

test("metadata filters by metric and limit; label values across several match[] are merged", async () => {
  const a = await app();
  const one = await json(
    await a.request(`/api/v1/metadata?metric=${mem.name}`),
    success(z.record(z.string(), z.unknown())),
  );
  assert.deepEqual(Object.keys(one.data), [mem.name]);
  const limited = await json(
    await a.request("/api/v1/metadata?limit=1"),
    success(z.record(z.string(), z.unknown())),
  );
  assert.equal(Object.keys(limited.data).length, 1);
  const match = [`${cpu.name}{domain="db"}`, `${mem.name}{domain="web-2"}`].map(
    (m) => `match[]=${encodeURIComponent(m)}`,
  );
  const vals = await json(
    await a.request(`/api/v1/label/domain/values?${match.join("&")}`),
    success(z.array(z.string())),
  );
  assert.deepEqual(vals.data, ["db", "web-2"]);
  // Grafana's POST variant: repeated match[] in the form body, merged with the query string's.
  const body = new URLSearchParams([
    ["match[]", `${mem.name}{domain="db"}`],
    ["match[]", `${mem.name}{domain="web-1"}`],
  ]);
  const posted = await json(
    await a.request(`/api/v1/series?match[]=${encodeURIComponent(`${cpu.name}{domain="db"}`)}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: body.toString(),
    }),
    success(z.array(labels)),
  );
  assert.deepEqual(posted.data.map((l) => `${l.__name__}/${l.domain}`).sort(), [
    `${cpu.name}/db`,
    `${mem.name}/db`,
    `${mem.name}/web-1`,
  ]);
});

test("values are written as Prometheus writes them: shortest decimal, no exponent", () => {
  assert.equal(formatValue(2), "2");
  assert.equal(formatValue(0.1 + 0.2), "0.30000000000000004");
  assert.equal(formatValue(1e21), "1000000000000000000000");
  assert.equal(formatValue(1.5e-7), "0.00000015");
  assert.equal(formatValue(-1.25e22), "-12500000000000000000000");
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
});

test("a query past its `timeout` answers 503 timeout; a store that fails answers 503 unavailable", async () => {
  const hanging = new MemoryStore();
  hanging.select = () => new Promise(() => undefined);
  const slow = promApiRoutes({ store: hanging, now: () => NOW });
  const timedOut = await json(await slow.request("/api/v1/query?query=up&timeout=50ms"), failure, 503);
  assert.equal(timedOut.errorType, "timeout");
  assert.match(timedOut.error, /timed out after 50 ms/);
  const broken = new MemoryStore();
  broken.labelNames = () => Promise.reject(new KvmonError("TSDB_UNREACHABLE", "connect ECONNREFUSED"));
  const down = promApiRoutes({ store: broken, now: () => NOW });
  const unavailable = await json(await down.request("/api/v1/labels"), failure, 503);
  assert.deepEqual([unavailable.errorType, unavailable.error], ["unavailable", "connect ECONNREFUSED"]);
});

test("over a real HTTP server, a slow POST query completes; a client that goes away cancels its query", async () => {
  const { serve } = await import("@hono/node-server");
  const slow = new MemoryStore();
  let selects = 0;
  slow.select = () => {
    selects++;
    return new Promise((resolve) => setTimeout(() => resolve([]), 300));
  };
  const server = serve({ fetch: promApiRoutes({ store: slow }).fetch, port: 0, hostname: "127.0.0.1" });
  try {
    await new Promise((resolve) => server.once("listening", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/query`;
    const res = await fetch(url, { ...form({ query: "up + up" }) });
    assert.equal(res.status, 200, "the request signal is not aborted once the form body is read");
    assert.equal(selects, 2);
    const gone = new AbortController();
    const pending = fetch(url, { ...form({ query: "a + b + c" }), signal: gone.signal });
    setTimeout(() => gone.abort(), 100);
    await assert.rejects(pending);
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal(selects, 3, "the cancelled query did not go on to its second and third selects");
  } finally {
    (server as Server).closeAllConnections();
    server.close();
  }
});

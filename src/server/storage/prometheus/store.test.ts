import assert from "node:assert/strict";
import { createServer, type RequestListener, type Server } from "node:http";
import { after, test } from "node:test";
import { TimeoutError } from "../../../shared/errors.ts";
import { parseSelector } from "../../promql/parse.ts";
import type { Matcher } from "../types.ts";
import { TsdbError } from "./errors.ts";
import { formatSelector, PrometheusStore } from "./store.ts";

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.closeAllConnections();
  return Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A peer that misbehaves as `handler` says (error paths only: the real answers are tested against VictoriaMetrics). */
async function peer(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const all = { startMs: 0, endMs: 1000 };
const sel: Matcher[] = [{ name: "__name__", op: "=", value: "up" }];

test("selectors are written so PromQL reads back the same matchers, odd characters included", () => {
  const matchers: Matcher[] = [
    { name: "__name__", op: "=", value: "kvmon_x" },
    { name: "domain", op: "!=", value: 'a "quoted"\nname\\' },
    { name: "host", op: "=~", value: "h[0-9]+|é" },
    { name: "dev", op: "!~", value: "" },
  ];
  assert.deepEqual(parseSelector(formatSelector(matchers)), matchers);
});

test("an error answer, invalid JSON, a hang and a refused connection each end in their typed error", async () => {
  const failing = await peer((_req, res) => {
    res.writeHead(500).end("disk full");
  });
  await assert.rejects(
    new PrometheusStore({ url: failing }).select(sel, all),
    (e) => e instanceof TsdbError && e.code === "TSDB_ERROR" && /500: disk full/.test(e.message),
  );
  const garbage = await peer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" }).end("{not json");
  });
  await assert.rejects(
    new PrometheusStore({ url: garbage }).labelNames([], all),
    (e) => e instanceof TsdbError && e.code === "TSDB_BAD_RESPONSE",
  );
  await assert.rejects(
    new PrometheusStore({ url: garbage }).select(sel, all),
    (e) => e instanceof TsdbError && e.code === "TSDB_BAD_RESPONSE" && /not JSON/.test(e.message),
  );
  const refusing = await peer((_req, res) => {
    res.writeHead(200).end(JSON.stringify({ status: "error", error: "bad matcher" }));
  });
  await assert.rejects(
    new PrometheusStore({ url: refusing }).series(sel, all),
    (e) => e instanceof TsdbError && e.code === "TSDB_ERROR" && /bad matcher/.test(e.message),
  );
  const hanging = await peer(() => undefined);
  await assert.rejects(
    new PrometheusStore({ url: hanging, timeoutMs: 100 }).labelValues("job", [], all),
    (e) => e instanceof TimeoutError && e.timeoutMs === 100,
  );
  await assert.rejects(
    new PrometheusStore({ url: "http://127.0.0.1:1" }).select(sel, all),
    (e) => e instanceof TsdbError && e.code === "TSDB_UNREACHABLE",
  );
});

test("a plain Prometheus cannot take samples through this store: TSDB_UNSUPPORTED with a hint", async () => {
  const store = new PrometheusStore({ url: "http://127.0.0.1:1", flavor: "prometheus" });
  await assert.rejects(
    store.append([{ labels: { __name__: "x" }, samples: [{ t: 1, v: 1 }] }]),
    (e) => e instanceof TsdbError && e.code === "TSDB_UNSUPPORTED" && e.hint !== undefined,
  );
});

test("requests carry the configured headers, match[], and start/end in seconds within what VictoriaMetrics accepts", async () => {
  const seen: { url: string; auth: string | undefined }[] = [];
  const url = await peer((req, res) => {
    seen.push({ url: req.url ?? "", auth: req.headers.authorization });
    res.writeHead(200).end(JSON.stringify({ status: "success", data: ["b", "a"] }));
  });
  const store = new PrometheusStore({ url: `${url}/`, headers: { authorization: "Bearer t" } });
  assert.deepEqual(await store.labelNames(sel, { startMs: -1e15, endMs: 1e16 }), ["a", "b"]);
  const q = new URL(seen[0]?.url ?? "", url);
  assert.equal(q.pathname, "/api/v1/labels");
  assert.equal(q.searchParams.get("match[]"), '{__name__="up"}');
  assert.equal(q.searchParams.get("start"), "0");
  assert.equal(q.searchParams.get("end"), "4102444800");
  assert.equal(seen[0]?.auth, "Bearer t");
});

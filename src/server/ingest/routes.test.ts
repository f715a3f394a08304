import assert from "node:assert/strict";
import test from "node:test";
import { Hono } from "hono";
import { compressSync } from "snappy";
import {
  encodeWrite,
  REMOTE_WRITE_HEADERS,
  sortedLabels,
  type TimeSeries,
} from "../../protocol/remote-write/index.ts";
import type { Series, SeriesStore } from "../storage/types.ts";
import { type IngestLimits, type Principal, type RejectReason, writeRoutes } from "./routes.ts";

/** Records appends; `fail` makes the next append reject. */
class MemoryStore implements Pick<SeriesStore, "append"> {
  readonly appended: Series[] = [];
  fail = false;
  append(batch: readonly Series[]): Promise<void> {
    if (this.fail) return Promise.reject(new Error("disk full"));
    this.appended.push(...batch);
    return Promise.resolve();
  }
}

function setup(limits: Partial<IngestLimits> = {}) {
  const store = new MemoryStore();
  const rejects: [RejectReason, number][] = [];
  const app = new Hono<{ Variables: { principal?: Principal } }>();
  // The auth middleware's stand-in: the principal from a test header.
  app.use(async (c, next) => {
    const p = c.req.header("x-test-principal");
    if (p) c.set("principal", JSON.parse(p) as Principal);
    await next();
  });
  app.route(
    "/",
    writeRoutes({
      store: store as unknown as SeriesStore,
      limits,
      onReject: (reason, n) => rejects.push([reason, n]),
    }),
  );
  return { app, store, rejects };
}

const host = (h: string): Principal => ({ kind: "host", host: h });
const series = (name: string, labels: Record<string, string>, t = 1000): TimeSeries => ({
  labels: sortedLabels({ __name__: name, ...labels }),
  samples: [{ value: 1, timestamp: t }],
});

function post(
  app: Hono<{ Variables: { principal?: Principal } }>,
  body: Uint8Array,
  principal: Principal | null = host("h1"),
  headers: Record<string, string> = {},
) {
  return app.request("/api/v1/write", {
    method: "POST",
    body,
    headers: {
      ...REMOTE_WRITE_HEADERS,
      "user-agent": "test",
      ...(principal ? { "x-test-principal": JSON.stringify(principal) } : {}),
      ...headers,
    },
  });
}

test("a valid write is stored, then answered 204", async () => {
  const { app, store } = setup();
  const res = await post(
    app,
    encodeWrite([series("up", { host: "h1" }), series("x", { host: "h1", a: "b" })]),
  );
  assert.equal(res.status, 204);
  assert.deepEqual(store.appended, [
    { labels: { __name__: "up", host: "h1" }, samples: [{ t: 1000, v: 1 }] },
    { labels: { __name__: "x", a: "b", host: "h1" }, samples: [{ t: 1000, v: 1 }] },
  ]);
});

test("wrong content type, encoding or protocol version: 415", async () => {
  const { app, store, rejects } = setup();
  const body = encodeWrite([series("up", { host: "h1" })]);
  const wrong: Record<string, string>[] = [
    { "Content-Type": "application/json" },
    { "Content-Encoding": "gzip" },
    { "X-Prometheus-Remote-Write-Version": "2.0.0" },
    { "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request" },
  ];
  for (const h of wrong) {
    const res = await post(app, body, host("h1"), h);
    assert.equal(res.status, 415, JSON.stringify(h));
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "UNSUPPORTED_MEDIA_TYPE");
  }
  assert.equal(store.appended.length, 0);
  assert.deepEqual(rejects, [
    ["unsupported_media", 1],
    ["unsupported_media", 1],
    ["unsupported_media", 1],
    ["unsupported_media", 1],
  ]);
  // 1.0's own message name is accepted.
  const ok = await post(app, body, host("h1"), {
    "Content-Type": "application/x-protobuf; proto=prometheus.WriteRequest",
  });
  assert.equal(ok.status, 204);
});

test("a body over the limit is 413, and so is a snappy bomb (by its declared size)", async () => {
  const { app } = setup({ maxBodyBytes: 1024, maxDecodedBytes: 64 * 1024 });
  assert.equal((await post(app, new Uint8Array(2048))).status, 413);
  const bomb = compressSync(Buffer.alloc(1 << 20));
  assert.ok(bomb.length < 1024 * 1024);
  const { app: big } = setup({ maxDecodedBytes: 64 * 1024 });
  const res = await post(big, bomb);
  assert.equal(res.status, 413);
  assert.match(await res.text(), /REMOTE_WRITE_TOO_LARGE/);
});

test("malformed snappy or protobuf and invalid labels: 400 with the reason", async () => {
  const { app, rejects } = setup();
  assert.equal((await post(app, Uint8Array.from([5, 1, 2, 3]))).status, 400);
  assert.equal((await post(app, compressSync(Buffer.from([0x0a, 0x7f, 0x00])))).status, 400);
  const unsorted: TimeSeries = {
    labels: [
      { name: "host", value: "h1" },
      { name: "__name__", value: "up" },
    ],
    samples: [],
  };
  const res = await post(app, encodeWrite([unsorted]));
  assert.equal(res.status, 400);
  assert.match(await res.text(), /not sorted/);
  assert.deepEqual(
    rejects.map(([r]) => r),
    ["malformed", "malformed", "invalid"],
  );
});

test("a label set seen before is checked on every request (host, rules, time order); the store gets one frozen record for it", async () => {
  const { app, store } = setup();
  const body = encodeWrite([series("up", { host: "h1" })]);
  assert.equal((await post(app, body, host("h1"))).status, 204);
  assert.equal((await post(app, body, host("h2"))).status, 403);
  assert.equal((await post(app, body, host("h1"))).status, 204);
  assert.equal(store.appended.length, 2);
  assert.equal(store.appended[0]!.labels, store.appended[1]!.labels);
  assert.ok(Object.isFrozen(store.appended[0]!.labels));
  const backwards: TimeSeries = {
    ...series("up", { host: "h1" }),
    samples: [
      { value: 1, timestamp: 2000 },
      { value: 2, timestamp: 1000 },
    ],
  };
  const res = await post(app, encodeWrite([backwards]), host("h1"));
  assert.equal(res.status, 400);
  assert.match(await res.text(), /time order/);
  const noName = encodeWrite([{ labels: [{ name: "host", value: "h1" }], samples: [] }]);
  for (let i = 0; i < 2; i++) assert.match(await (await post(app, noName)).text(), /no __name__/);
  assert.equal(store.appended.length, 2);
});

test("a host may only write its own host's series; no principal 401, a viewer 403, an admin any host", async () => {
  const { app, store } = setup();
  const body = encodeWrite([series("up", { host: "h1" }), series("up", { host: "h2" })]);
  assert.equal((await post(app, body, host("h1"))).status, 403);
  assert.equal((await post(app, encodeWrite([series("up", { host: "h2" })]), host("h1"))).status, 403);
  assert.equal((await post(app, encodeWrite([series("up", {})]), host("h1"))).status, 403);
  assert.equal((await post(app, encodeWrite([series("up", { host: "h1" })]), null)).status, 401);
  const viewer: Principal = { kind: "user", name: "v", role: "viewer" };
  assert.equal((await post(app, encodeWrite([series("up", { host: "h1" })]), viewer)).status, 403);
  assert.equal(store.appended.length, 0);
  const admin: Principal = { kind: "user", name: "a", role: "admin" };
  assert.equal((await post(app, encodeWrite([series("up", { host: "h9" })]), admin)).status, 204);
  assert.equal(store.appended.length, 1);
});

test("the per-host series limit refuses new series with 400 and still stores the known ones", async () => {
  const { app, store, rejects } = setup({ maxSeriesPerHost: 2 });
  const a = series("a", { host: "h1" });
  const b = series("b", { host: "h1" });
  assert.equal((await post(app, encodeWrite([a, b]))).status, 204);
  const res = await post(app, encodeWrite([series("a", { host: "h1" }, 2000), series("c", { host: "h1" })]));
  assert.equal(res.status, 400);
  assert.match(await res.text(), /SERIES_LIMIT.*1 new series refused/s);
  assert.deepEqual(
    store.appended.map((s) => [s.labels.__name__, s.samples[0]!.t]),
    [
      ["a", 1000],
      ["b", 1000],
      ["a", 2000],
    ],
  );
  assert.deepEqual(rejects, [["series_limit", 1]]);
  // Another host has its own budget.
  assert.equal((await post(app, encodeWrite([series("c", { host: "h2" })]), host("h2"))).status, 204);
});

test("a store failure is 500 (a sender retries it), never 204", async () => {
  const { app, store } = setup();
  store.fail = true;
  const res = await post(app, encodeWrite([series("up", { host: "h1" })]));
  assert.equal(res.status, 500);
  assert.match(await res.text(), /STORE_FAILED/);
});

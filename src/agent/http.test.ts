import assert from "node:assert/strict";
import { test } from "node:test";
import { loadStats } from "../collectors/fixtures/load.ts";
import { CONTENT_TYPE } from "../metrics/exposition.ts";
import { domainSampleSchema, hostSampleSchema, parseWith } from "../model/schema.ts";
import { KvmonError } from "../shared/errors.ts";
import { createApp } from "./http.ts";
import { testAgent } from "./testing/setup.ts";

interface Health {
  status: string;
  libvirt: { connected: boolean; lastError: string | null };
  lastSample: { ageSeconds: number | null };
}

async function appWithData() {
  const t = testAgent();
  for (const f of ["1", "2"]) {
    const loaded = [`tcg-${f}.stats`, `lab-1-${f}.stats`].map((x) => loadStats(x));
    t.clock.now = loaded[0]!.recordedAt;
    t.source.replyWith(loaded.map((l) => l.record));
    await t.agent.tick();
  }
  const app = createApp(t.agent, { clock: () => t.clock.now });
  return { t, app };
}

test("/metrics serves the Prometheus text of the cached snapshot plus agent metrics", async () => {
  const { app } = await appWithData();
  const res = await app.request("/metrics");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), CONTENT_TYPE);
  const text = await res.text();
  assert.match(
    text,
    /^kvmon_domain_cpu_seconds_total\{domain="kvmon-fixture-tcg",uuid="c2009ff1-f10e-4e3e-8fb7-bb997730115c"\} 11\.543321$/m,
  );
  assert.match(text, /^kvmon_libvirt_up 1$/m);
  assert.match(text, /^kvmon_collector_success\{collector="cpu"\} 1$/m);
  // Served from the cache: a second scrape returns the same domain section without a new collection.
  assert.equal(
    (await (await app.request("/metrics")).text()).split("kvmon_libvirt_up")[0],
    text.split("kvmon_libvirt_up")[0],
  );
});

test("/api/v1/domains and /api/v1/domains/:name give current values and rates", async () => {
  const { app } = await appWithData();
  const all = (await (await app.request("/api/v1/domains")).json()) as { domains: unknown[] };
  const domains = all.domains.map((d) => parseWith(domainSampleSchema, d, "GET /api/v1/domains"));
  assert.deepEqual(
    domains.map((d) => d.name),
    ["kvmon-fixture-tcg", "kvmon-lab-1"],
  );
  const res = await app.request("/api/v1/domains/kvmon-fixture-tcg");
  assert.equal(res.status, 200);
  const one = parseWith(domainSampleSchema, ((await res.json()) as { domain: unknown }).domain, "GET domain");
  assert.equal(one.block![0]!.writeBytes!.total, 8388608);
  assert.equal(one.block![0]!.writeBytes!.perSecond, 8388608 / 8.08);
  const byUuid = await app.request("/api/v1/domains/C2009FF1-F10E-4E3E-8FB7-BB997730115C");
  assert.equal(byUuid.status, 200);
});

test("/api/v1/host: node info, versions, domain counts, connection", async () => {
  const { app } = await appWithData();
  const body = (await (await app.request("/api/v1/host")).json()) as {
    host: unknown;
    connection: { connected: boolean };
  };
  const host = parseWith(hostSampleSchema, body.host, "GET /api/v1/host");
  assert.equal(host.hostname, "hv1");
  // FakeSource's node info (24 GiB, 2 CPUs at 2.4 GHz) and versions (9000000, 7002022), decoded.
  assert.deepEqual(host.node, {
    model: "x86_64",
    memoryBytes: 24 * 1024 ** 3,
    cpus: 2,
    mhz: 2400,
    nodes: 1,
    sockets: 1,
    cores: 2,
    threads: 1,
  });
  assert.equal(host.libvirtVersion, "9.0.0");
  assert.equal(host.hypervisorVersion, "7.2.22");
  assert.equal(host.domainsByState.running, 2);
  assert.equal(host.domainsByState.shutoff, 0);
  assert.equal(host.domainsTotal, 2);
  assert.equal(body.connection.connected, true);
});

test("errors are JSON: unknown domain 404, unknown route 404, wrong method 405, overlong name 400", async () => {
  const { app } = await appWithData();
  const cases: [string, RequestInit | undefined, number, string][] = [
    ["/api/v1/domains/nope", undefined, 404, "DOMAIN_NOT_FOUND"],
    ["/api/v2/whatever", undefined, 404, "NOT_FOUND"],
    ["/metrics", { method: "POST" }, 405, "METHOD_NOT_ALLOWED"],
    ["/api/v1/domains/x", { method: "DELETE" }, 405, "METHOD_NOT_ALLOWED"],
    [`/api/v1/domains/${"a".repeat(300)}`, undefined, 400, "BAD_REQUEST"],
  ];
  for (const [path, init, status, code] of cases) {
    const res = await app.request(path, init);
    assert.equal(res.status, status, path);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, code, path);
  }
});

test("before the first collection: API 503 with a JSON reason, /healthz 503 'starting', /metrics still 200", async () => {
  const t = testAgent();
  const app = createApp(t.agent, { clock: () => t.clock.now });
  assert.equal((await app.request("/api/v1/domains")).status, 503);
  const h = await app.request("/healthz");
  assert.equal(h.status, 503);
  assert.equal(((await h.json()) as { status: string }).status, "starting");
  const m = await app.request("/metrics");
  assert.equal(m.status, 200);
  assert.match(await m.text(), /^kvmon_collections_total 0$/m);
});

test("/healthz: ok with libvirt state and sample age; stale once collections stop for 3 intervals", async () => {
  const { t, app } = await appWithData();
  let res = await app.request("/healthz");
  assert.equal(res.status, 200);
  let body = (await res.json()) as Health;
  assert.equal(body.status, "ok");
  assert.equal(body.libvirt.connected, true);
  assert.equal(body.lastSample.ageSeconds, 0);
  t.clock.now += 31_000;
  t.source.conn = { ...t.source.conn, connected: false, state: "backoff", lastError: "connection refused" };
  res = await app.request("/healthz");
  assert.equal(res.status, 503);
  body = (await res.json()) as Health;
  assert.equal(body.status, "stale");
  assert.equal(body.libvirt.lastError, "connection refused");
  assert.equal(body.lastSample.ageSeconds, 31);
});

test("an error inside a handler: a typed one keeps its stable code and hint, an untyped one is INTERNAL", async () => {
  const t = testAgent();
  let failure: Error = new KvmonError("SNAPSHOT_CORRUPT", "cannot read the snapshot", { hint: "restart" });
  const view = { ...t.agent, collectors: t.agent.collectors, intervalMs: 10_000, status: t.agent.status };
  const app = createApp({
    ...view,
    snapshot: () => {
      throw failure;
    },
    connection: () => t.source.conn,
  });
  let res = await app.request("/api/v1/domains");
  assert.equal(res.status, 500);
  assert.deepEqual(await res.json(), {
    error: { code: "SNAPSHOT_CORRUPT", message: "cannot read the snapshot", hint: "restart" },
  });
  failure = new Error("boom");
  res = await app.request("/api/v1/domains");
  assert.deepEqual(await res.json(), { error: { code: "INTERNAL", message: "boom" } });
  const starting = createApp(t.agent);
  res = await starting.request("/api/v1/host");
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, "NO_SAMPLE_YET");
});

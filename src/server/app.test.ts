/**
 * The server app on a real state database (temp dir) and the in-memory sample store: pushes from a host token,
 * the domain list (filters, sort by any numeric field, top-N, paging), one domain's view, events, series ranges,
 * the OpenAPI document, bad input (400 naming the field, 413, path traversal), control error paths, and a
 * restart keeping tokens, audit log and last snapshots.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { serverFixture, goldenSnapshot } from "./testing/server-fixture.ts";

let clock = 1_700_000_000_000;
const f = serverFixture({ now: () => clock });
after(() => f.close());

async function json<T>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text) as T;
}
const get = <T>(path: string, status = 200, token = f.tokens.viewer) =>
  f.call("GET", path, { token }).then((r) => json<T>(r, status));
type ErrorBody = { error: { code: string; message: string } };
type HostsOperation = {
  responses: Record<
    "200",
    {
      content: Record<
        "application/json",
        {
          schema: {
            properties: { hosts: { items: { required: string[]; properties: Record<string, unknown> } } };
          };
        }
      >;
    }
  >;
};

async function push(host = f.tokens.host, snap = goldenSnapshot()): Promise<void> {
  snap.finishedAt = clock - 1000;
  const res = await f.call("POST", "/api/v1/push/snapshot", {
    token: host,
    body: snap,
    headers: { "user-agent": "kvmon-agent/0.1.0" },
  });
  assert.equal(res.status, 204, await res.text());
}

test("a pushed snapshot is the host's state: hosts, domains and one domain's view", async () => {
  await push();
  const { hosts } = await get<{ hosts: Array<Record<string, unknown>> }>("/api/v1/hosts");
  assert.equal(hosts.length, 1);
  assert.deepEqual(
    { ...hosts[0], lastPushAt: undefined },
    {
      name: "h1",
      agentUp: true,
      libvirtReachable: true,
      lastPushAt: undefined,
      collectedAt: clock - 1000,
      version: "kvmon-agent/0.1.0",
      hostname: "agent-host",
      hostUuid: "4c4c4544-0042-3510-8052-b4c04f4b4e32",
      libvirtVersion: goldenSnapshot().host.libvirtVersion,
      domains: 4,
      cpuUsageRatio: goldenSnapshot().host.usage!.cpuRatio,
      memoryUsedBytes: goldenSnapshot().host.usage!.memory!.usedBytes,
      memoryTotalBytes: 24684084 * 1024,
      control: false,
    },
  );
  assert.ok((hosts[0]!.cpuUsageRatio as number) > 0.99, "the fixture host was busy");
  const list = await get<{ total: number; domains: Array<{ host: string; name: string }> }>(
    "/api/v1/domains",
  );
  assert.equal(list.total, 4);
  assert.deepEqual(
    list.domains.map((d) => [d.host, d.name]),
    goldenSnapshot().domains.map((d) => ["h1", d.name]),
  );
  const one = await get<Record<string, { name?: string } | null>>("/api/v1/domains/h1/kvmon-lab-1");
  assert.equal(one.host!.name, "kvmon-lab-1");
  assert.deepEqual(Object.keys(one).sort(), [
    "collectedAt",
    "guest",
    "host",
    "hostName",
    "hostStatus",
    "trace",
  ]);
  const golden = goldenSnapshot().domains[3]!;
  assert.deepEqual(one.guest, golden.guest);
  assert.ok(one.host && "cpu" in one.host && !("guest" in one.host), "the host section is libvirt's part");
  const byUuid = goldenSnapshot().domains[3]!.uuid;
  assert.equal(
    (await get<{ host: { name: string } }>(`/api/v1/domains/h1/${byUuid}`)).host.name,
    "kvmon-lab-1",
  );
  assert.equal((await get<ErrorBody>("/api/v1/domains/h1/nope", 404)).error.code, "DOMAIN_NOT_FOUND");
});

test("an agent is down after 3 push intervals without a push", async () => {
  await push();
  clock += 31_000;
  const { hosts } = await get<{ hosts: Array<{ agentUp: boolean; libvirtReachable: boolean }> }>(
    "/api/v1/hosts",
  );
  assert.deepEqual([hosts[0]!.agentUp, hosts[0]!.libvirtReachable], [false, false]);
  await push();
});

test("domains: filter by state, name pattern and label; sort by a numeric field; top-N; paging", async () => {
  type List = {
    total: number;
    domains: Array<{
      name: string;
      state: { state: string } | null;
      cpu: { timeSeconds: { total: number } } | null;
    }>;
  };
  const snap = goldenSnapshot();
  const running = snap.domains.filter((d) => d.state?.state === "running").map((d) => d.name);
  assert.deepEqual(
    (await get<List>("/api/v1/domains?state=running")).domains.map((d) => d.name),
    running,
  );
  assert.deepEqual((await get<List>("/api/v1/domains?name=kvmon-fixture-*")).total, 3);
  const nova = snap.domains.find((d) => d.metadata?.nova)!;
  const byProject = await get<List>(
    `/api/v1/domains?label=${encodeURIComponent(`project_name=${nova.metadata!.nova!.projectName}`)}`,
  );
  const project = snap.domains.filter(
    (d) => d.metadata?.nova?.projectName === nova.metadata!.nova!.projectName,
  );
  assert.deepEqual(
    byProject.domains.map((d) => d.name),
    project.map((d) => d.name),
  );
  const sorted = await get<List>("/api/v1/domains?sort=-cpu.timeSeconds.total");
  const totals = sorted.domains.map((d) => d.cpu?.timeSeconds.total ?? null);
  const known = totals.filter((t) => t !== null);
  assert.deepEqual(
    known,
    [...known].sort((a, b) => b - a),
  );
  assert.deepEqual(
    totals.slice(known.length),
    totals.slice(known.length).map(() => null),
    "unknown values last",
  );
  const top = await get<List>("/api/v1/domains?sort=-cpu.timeSeconds.total&limit=2");
  assert.deepEqual(
    top.domains.map((d) => d.name),
    sorted.domains.slice(0, 2).map((d) => d.name),
  );
  const second = await get<List>("/api/v1/domains?sort=-cpu.timeSeconds.total&limit=2&offset=2");
  assert.deepEqual(
    second.domains.map((d) => d.name),
    sorted.domains.slice(2, 4).map((d) => d.name),
  );
});

test("bad input is a 400 naming the field, never a crash", async () => {
  const cases: Array<[string, RegExp]> = [
    ["/api/v1/domains?sort=cpu.nope", /^query\.sort: must be a numeric field/],
    ["/api/v1/domains?limit=0", /^query\.limit: /],
    ["/api/v1/domains?limit=abc", /^query\.limit: /],
    ["/api/v1/domains?state=flying", /^query\.state: /],
    ["/api/v1/domains?colour=red", /^query: unknown field 'colour'/],
    ["/api/v1/domains?label=nolabel", /^query\.label: /],
    ["/api/v1/hosts?x=1", /^query: this endpoint takes no query parameters/],
    ["/api/v1/series/range?metric=a{b}", /^query\.metric: /],
    ["/api/v1/series/range?metric=up&match=host~x", /^query\.match: /],
    ["/api/v1/series/range?metric=up&match=host=~(", /^match: /],
    ["/api/v1/series/range?metric=up&start=10&end=5", /^start: is after end/],
    ["/api/v1/series/range?metric=up&start=0&end=1000000&step=1", /^step: /],
    ["/api/v1/domains/h1/..%2F..%2Fetc%2Fpasswd", /^name: .* is not a valid name/],
    ["/api/v1/domains/..%2Fh1/vm", /^host: .* is not a valid name/],
  ];
  for (const [path, message] of cases) {
    const body = await get<ErrorBody>(path, 400);
    assert.equal(body.error.code, "BAD_REQUEST", path);
    assert.match(body.error.message, message, path);
  }
  const post = (body: unknown, headers?: Record<string, string>) =>
    f
      .call("POST", "/api/v1/push/events", { token: f.tokens.host, body, headers })
      .then((r) => json<ErrorBody>(r, 400));
  assert.match((await post("{not json")).error.message, /^body: not valid JSON/);
  assert.match((await post("[]", { "content-type": "text/plain" })).error.message, /^body: expects JSON/);
  assert.match(
    (await post([{ time: 1, domain: "d", uuid: null, type: "started", detail: null, extra: 1 }])).error
      .message,
    /^body\.0: unknown field 'extra'/,
  );
  assert.match(
    (await post([{ time: 1, domain: "d", uuid: null, type: "Started\n", detail: null }])).error.message,
    /^body\.0\.type: /,
  );
  const big = await f.call("POST", "/api/v1/push/snapshot", {
    token: f.tokens.host,
    body: "x".repeat(70 * 1024),
  });
  assert.equal(big.status, 413);
  assert.equal(((await big.json()) as ErrorBody).error.code, "BODY_TOO_LARGE");
  const snap = { ...goldenSnapshot(), domains: "none" };
  const bad = await f
    .call("POST", "/api/v1/push/snapshot", { token: f.tokens.host, body: snap })
    .then((r) => json<ErrorBody>(r, 400));
  assert.match(bad.error.message, /^body\.domains: /);
  const exec = await f.call("POST", "/api/v1/domains/h1/vm/exec", {
    token: f.tokens.operator,
    body: { path: "/bin/true", shell: true },
  });
  assert.match((await json<ErrorBody>(exec, 400)).error.message, /^body: unknown field 'shell'/);
});

test("events pushed by an agent are listed newest first, filtered and paged", async () => {
  const events = [1, 2, 3].map((i) => ({
    time: clock + i,
    domain: `vm${i % 2}`,
    uuid: null,
    type: "started",
    detail: "booted",
  }));
  const res = await f.call("POST", "/api/v1/push/events", { token: f.tokens.host, body: events });
  assert.equal(res.status, 204);
  type Page = { events: Array<{ host: string; domain: string; time: number }>; next: number | null };
  const first = await get<Page>("/api/v1/events?limit=2");
  assert.deepEqual(
    first.events.map((e) => e.time),
    [clock + 3, clock + 2],
  );
  const rest = await get<Page>(`/api/v1/events?limit=2&before=${first.next}`);
  assert.deepEqual(
    rest.events.map((e) => e.time),
    [clock + 1],
  );
  assert.equal(rest.next, null);
  assert.deepEqual(
    (await get<Page>("/api/v1/events?domain=vm0")).events.map((e) => [e.host, e.time]),
    [["h1", clock + 2]],
  );
});

test("series ranges come from the store, bucketed by step with the aggregation", async () => {
  const t0 = 1_700_000_000_000;
  await f.store.append([
    {
      labels: { __name__: "kvmon_domain_cpu_usage_ratio", host: "h1", domain: "a" },
      samples: [0, 10, 20, 30].map((s, i) => ({ t: t0 + s * 1000, v: i })),
    },
    {
      labels: { __name__: "kvmon_domain_cpu_usage_ratio", host: "h1", domain: "b" },
      samples: [{ t: t0, v: 9 }],
    },
  ]);
  type Range = {
    step: number;
    series: Array<{ labels: Record<string, string>; points: Array<[number, number]> }>;
  };
  const q = `/api/v1/series/range?metric=kvmon_domain_cpu_usage_ratio&match=domain=a&start=${t0 / 1000}&end=${t0 / 1000 + 30}&step=20`;
  const avg = await get<Range>(q);
  assert.deepEqual(
    avg.series.map((s) => s.points),
    [
      [
        [t0 / 1000, 0.5],
        [t0 / 1000 + 20, 2.5],
      ],
    ],
  );
  const max = await get<Range>(`${q}&agg=max`);
  assert.deepEqual(max.series[0]!.points, [
    [t0 / 1000, 1],
    [t0 / 1000 + 20, 3],
  ]);
  const both = await get<Range>(
    `/api/v1/series/range?metric=kvmon_domain_cpu_usage_ratio&match=domain=~a|b&start=${t0 / 1000}&end=${t0 / 1000 + 30}`,
  );
  assert.equal(both.series.length, 2);
});

test("the OpenAPI document lists every route with its access and schemas", async () => {
  const doc = await get<{
    openapi: string;
    paths: Record<string, Record<string, { "x-kvmon-access": string; parameters: Array<{ name: string }> }>>;
  }>("/api/v1/openapi.json", 200, "");
  assert.equal(doc.openapi, "3.1.0");
  for (const r of f.routes) {
    const op = doc.paths[r.path.replace(/:(\w+)/g, "{$1}")]?.[r.method.toLowerCase()];
    assert.ok(op, `${r.method} ${r.path}`);
    assert.equal(op["x-kvmon-access"], r.access);
  }
  const names = doc.paths["/api/v1/domains"]!.get!.parameters.map((p) => p.name);
  assert.deepEqual(names, ["host", "state", "name", "label", "sort", "limit", "offset"]);
  // A route with a response schema describes its answer: the hosts with their CPU and memory.
  const hosts = (doc.paths["/api/v1/hosts"]!.get as unknown as HostsOperation).responses["200"].content[
    "application/json"
  ].schema.properties.hosts.items;
  for (const field of ["cpuUsageRatio", "memoryUsedBytes", "memoryTotalBytes", "agentUp"])
    assert.ok(hosts.required.includes(field) && hosts.properties[field], field);
});

test("control calls to a host without a registered agent, or an unreachable one, fail clearly and are audited", async () => {
  const res = await f.call("POST", "/api/v1/domains/h1/vm/trace", {
    token: f.tokens.operator,
    body: { durationSeconds: 5 },
  });
  assert.equal((await json<ErrorBody>(res, 409)).error.code, "AGENT_NOT_REGISTERED");
  f.fleet.register("h1", { url: "http://127.0.0.1:1", controlToken: "x".repeat(20) });
  const down = await f.call("POST", "/api/v1/domains/h1/vm/trace", {
    token: f.tokens.operator,
    body: { durationSeconds: 5 },
  });
  assert.equal((await json<ErrorBody>(down, 502)).error.code, "AGENT_UNREACHABLE");
  const { records } = f.audit.query({ limit: 2, action: "trace-on" });
  assert.deepEqual(
    records.map((r) => [r.who, r.outcome, r.status, r.code, r.host, r.domain]),
    [
      ["otto", "error", 502, "AGENT_UNREACHABLE", "h1", "vm"],
      ["otto", "error", 409, "AGENT_NOT_REGISTERED", "h1", "vm"],
    ],
  );
  assert.deepEqual(records[0]!.what, { durationSeconds: 5 });
});

test("the disk audit route: query checked, relayed to the host's agent as it answered, audited; viewers refused", async () => {
  const asked: string[] = [];
  const domainAudit = {
    name: "vm",
    uuid: "u",
    running: true,
    persistent: true,
    pid: 1,
    disks: [],
    notes: [],
  };
  const agent = createServer((req, res) => {
    asked.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(domainAudit));
  });
  await new Promise<void>((resolve) => agent.listen(0, "127.0.0.1", resolve));
  after(() => agent.close());
  const { port } = agent.address() as AddressInfo;
  f.fleet.register("h1", { url: `http://127.0.0.1:${port}`, controlToken: "t".repeat(20) });
  const audit = (qs: string, token = f.tokens.operator) =>
    f.call("GET", `/api/v1/domains/h1/vm/audit${qs}`, { token });
  assert.deepEqual(await json(await audit("?qmp=1&windowMs=0")), domainAudit);
  assert.deepEqual(await json(await audit("")), domainAudit);
  assert.deepEqual(asked, [
    `GET /api/v1/domains/vm/audit?qmp=1&windowMs=0 Bearer ${"t".repeat(20)}`,
    `GET /api/v1/domains/vm/audit?qmp=0&windowMs=2000 Bearer ${"t".repeat(20)}`,
  ]);
  assert.match(
    (await json<ErrorBody>(await audit("?windowMs=600001"), 400)).error.message,
    /^query\.windowMs: /,
  );
  assert.match((await json<ErrorBody>(await audit("?qmp=yes"), 400)).error.message, /^query\.qmp: /);
  assert.equal((await json<ErrorBody>(await audit("", f.tokens.viewer), 403)).error.code, "FORBIDDEN");
  assert.equal(asked.length, 2, "refused calls never reach the agent");
  const { records } = f.audit.query({ limit: 2, action: "disk-audit" });
  assert.deepEqual(
    records.map((r) => [r.outcome, r.status, r.host, r.domain, r.what]),
    [
      ["denied", 403, "h1", "vm", {}],
      ["error", 400, "h1", "vm", {}],
    ],
  );
  const ok = f.audit.query({ limit: 10, action: "disk-audit" }).records.filter((r) => r.outcome === "ok");
  assert.deepEqual(
    ok.map((r) => r.what),
    [
      { qmp: false, windowMs: 2000 },
      { qmp: true, windowMs: 0 },
    ],
  );
});

test("a restart keeps tokens, the audit log and the last snapshots", async () => {
  const before = f.audit.query({ limit: 100 }).records.length;
  const g = f.reopen();
  const hosts = await g
    .call("GET", "/api/v1/hosts", { token: g.tokens.viewer })
    .then((r) => json<{ hosts: Array<{ name: string; domains: number; control: boolean }> }>(r));
  assert.deepEqual(
    hosts.hosts.map((h) => [h.name, h.domains, h.control]),
    [["h1", 4, true]],
  );
  const audit = await g
    .call("GET", "/api/v1/audit?limit=1000", { token: g.tokens.admin })
    .then((r) => json<{ records: unknown[] }>(r));
  assert.equal(audit.records.length, before);
  assert.equal((await g.call("POST", "/api/v1/push/events", { token: g.tokens.host, body: [] })).status, 204);
  g.close();
});

/**
 * The fleet end to end on the lab (issue 14's proof): one `kvmon server` process (bin/kvmon, embedded store,
 * tokens made with its CLI) and two agents on this machine's qemu:///system under two host identities (hv-a,
 * hv-b: hostName/hostUuid config) pushing to it over real HTTP. What the server answers (Prometheus API and the
 * JSON range API) equals each agent's own /metrics at the same timestamps; /api/v1/hosts lists both; Grafana's
 * request sequence works against the running server.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseExposition } from "../../src/agent/testing/exposition-lines.ts";
import { labGuests } from "../lab.ts";
import {
  addSample,
  type Fleet,
  type FleetAgent,
  json,
  makeFleet,
  metricOf,
  lacking,
  type Samples,
  type ServerProcess,
  serverSamples,
  startFleetAgent,
  startServerProcess,
  text,
  until,
} from "./fleet-helpers.ts";

/** Families rendered from the snapshot (timestamped at its end), not the per-scrape agent lines. */
const FROM_SNAPSHOT = /^kvmon_(domain|host|collector|source)_/;
const HOSTS = [
  { name: "hv-a", uuid: "0a0a0a0a-0000-4000-8000-00000000000a" },
  { name: "hv-b", uuid: "0b0b0b0b-0000-4000-8000-00000000000b" },
];

let dir: string;
let fleet: Fleet;
let server: ServerProcess;
const agents: FleetAgent[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "kvmon-fleet-"));
  fleet = makeFleet(
    dir,
    HOSTS.map((h) => h.name),
  );
  server = await startServerProcess(fleet.dataDir);
  for (const h of HOSTS)
    agents.push(
      await startFleetAgent(
        h.name,
        h.uuid,
        server.url,
        fleet.hostTokenFiles[h.name]!,
        join(dir, `${h.name}-spool`),
      ),
    );
});

after(async () => {
  for (const a of agents) await a.running.stop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** One snapshot's /metrics of an agent (collection time equal before and after the scrape) with the lab guests. */
async function oneSnapshot(a: FleetAgent): Promise<{ t: number; metrics: string }> {
  return until(`a /metrics of one snapshot of ${a.name}`, 30_000, async () => {
    const at = async () =>
      ((await (await fetch(`${a.base}/api/v1/host`)).json()) as { collectedAt?: number }).collectedAt;
    const before = await at();
    const metrics = await text(`${a.base}/metrics`);
    const after = await at();
    const ok =
      before !== undefined && before === after && labGuests.every((g) => metrics.includes(`domain="${g}"`));
    return ok ? { t: before, metrics } : undefined;
  });
}

async function acknowledged(a: FleetAgent, t: number): Promise<void> {
  await until(`${a.name}'s push of ${t} acknowledged`, 30_000, async () => {
    const last = metricOf(await text(`${a.base}/metrics`), "kvmon_push_last_success_timestamp_seconds") ?? 0;
    return last * 1000 >= t ? true : undefined;
  });
}

test("values the server holds equal each agent's /metrics at the same timestamps (Prometheus API and JSON range API)", async () => {
  for (const a of agents) {
    const view = await oneSnapshot(a);
    await acknowledged(a, view.t);
    const identity = { host: a.name, instance: `${a.name}:${a.running.address.port}` };
    const expected: Samples = new Map();
    for (const s of parseExposition(view.metrics).filter((x) => FROM_SNAPSHOT.test(x.labels.__name__!)))
      addSample(expected, { ...s.labels, ...identity }, view.t, s.value);
    assert.ok(expected.size > 100, `${a.name}: ${expected.size} series compared`);
    const got = await serverSamples(server.url, fleet.viewer, a.name, view.t - 1, view.t);
    const wrong = lacking(expected, got);
    assert.deepEqual(
      wrong.slice(0, 10),
      [],
      `${a.name}: ${wrong.length} of ${expected.size} samples missing or different`,
    );

    // The JSON range API: one domain's memory over a 1 s bucket ending at the snapshot, aggregation `last`.
    const guest = labGuests[0]!;
    const name = "kvmon_domain_memory_current_bytes";
    const want = parseExposition(view.metrics).find(
      (s) => s.labels.__name__ === name && s.labels.domain === guest,
    );
    assert.ok(want, `${a.name}: ${name} of ${guest} on /metrics`);
    const q = new URLSearchParams({
      metric: name,
      start: String(view.t / 1000),
      end: String(view.t / 1000),
      step: "1",
      agg: "last",
    });
    q.append("match", `host=${a.name}`);
    q.append("match", `domain=${guest}`);
    const r = await json<{ series: Array<{ points: [number, number][] }> }>(
      `${server.url}/api/v1/series/range?${q}`,
      fleet.viewer,
    );
    assert.equal(r.series.length, 1);
    assert.deepEqual(r.series[0]!.points, [[view.t / 1000, want.value]]);
  }
});

test("/api/v1/hosts lists both agents, up, with their identities", async () => {
  const r = await json<{
    hosts: Array<{
      name: string;
      agentUp: boolean;
      hostname: string | null;
      hostUuid: string | null;
      domains: number;
    }>;
  }>(`${server.url}/api/v1/hosts`, fleet.viewer);
  for (const h of HOSTS) {
    const v = r.hosts.find((x) => x.name === h.name);
    assert.ok(v, `${h.name} listed`);
    assert.equal(v.agentUp, true);
    assert.equal(v.hostname, h.name);
    assert.equal(v.hostUuid, h.uuid);
    assert.ok(v.domains >= labGuests.length, `${h.name}: ${v.domains} domains`);
  }
});

test("Grafana's request sequence against the running server (Prometheus data source at the server's URL)", async () => {
  // A rate needs two samples in its window: wait for three pushes of each agent.
  await until("three samples of each host", 30_000, async () => {
    const q = encodeURIComponent("count_over_time(kvmon_host_cpus[1m]) >= 3");
    const r = await json<{ data: { result: unknown[] } }>(
      `${server.url}/api/v1/query?query=${q}`,
      fleet.viewer,
    );
    return r.data.result.length === HOSTS.length ? true : undefined;
  });
  // Whole seconds as Grafana sends them, rounded up: the agents started a moment ago and their data is that new.
  const end = Math.ceil(Date.now() / 1000);
  const start = end - 300;
  const form = (params: Record<string, string>) =>
    fetch(`${server.url}/api/v1/query${params.step ? "_range" : ""}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${fleet.viewer}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams(params),
    });
  // Save & test: 1+1, then buildinfo.
  const health = (await (await form({ query: "1+1", time: String(end) })).json()) as {
    data: { result: [number, string] };
  };
  assert.equal(health.data.result[1], "2");
  const info = await json<{ data: { version: string } }>(
    `${server.url}/api/v1/status/buildinfo`,
    fleet.viewer,
  );
  assert.equal(info.data.version, "2.42.0");
  // The query editor: metric names, metadata, label names, label values, series.
  const names = await json<{ data: string[] }>(
    `${server.url}/api/v1/label/__name__/values?start=${start}&end=${end}`,
    fleet.viewer,
  );
  assert.ok(names.data.includes("kvmon_domain_cpu_seconds_total"));
  const meta = await json<{ data: Record<string, Array<{ type: string }>> }>(
    `${server.url}/api/v1/metadata`,
    fleet.viewer,
  );
  assert.equal(meta.data.kvmon_domain_cpu_seconds_total?.[0]?.type, "counter");
  const match = encodeURIComponent('{__name__="kvmon_domain_cpu_seconds_total"}');
  const labels = await json<{ data: string[] }>(
    `${server.url}/api/v1/labels?start=${start}&end=${end}&match[]=${match}`,
    fleet.viewer,
  );
  for (const l of ["__name__", "domain", "host", "instance", "uuid"]) assert.ok(labels.data.includes(l), l);
  const hosts = await json<{ data: string[] }>(
    `${server.url}/api/v1/label/host/values?start=${start}&end=${end}`,
    fleet.viewer,
  );
  assert.deepEqual(
    hosts.data,
    HOSTS.map((h) => h.name),
  );
  const series = await json<{ data: Array<Record<string, string>> }>(
    `${server.url}/api/v1/series?start=${start}&end=${end}&match[]=${match}`,
    fleet.viewer,
  );
  assert.equal(series.data.length, HOSTS.length * labGuests.length);
  // A dashboard panel: CPU rate per host, range query, form POST.
  const panel = (await (
    await form({
      query: "sum by (host) (rate(kvmon_domain_cpu_seconds_total[1m]))",
      start: String(end - 60),
      end: String(end),
      step: "15",
      timeout: "30s",
    })
  ).json()) as {
    status: string;
    data: { resultType: string; result: Array<{ metric: { host: string }; values: unknown[] }> };
  };
  assert.equal(panel.status, "success");
  assert.equal(panel.data.resultType, "matrix");
  assert.deepEqual(
    panel.data.result.map((r) => r.metric.host).sort(),
    HOSTS.map((h) => h.name),
  );
  // A viewer token is needed: no token, no data.
  assert.equal((await fetch(`${server.url}/api/v1/query?query=1%2B1`)).status, 401);
});

/**
 * The TSDB path end to end on the lab (issue 14's scale-out), against two real VictoriaMetrics started by the
 * test: one agent (host hv-vm, qemu:///system) pushes every second to two `kvmon server` processes, each set up
 * by its config file as an operator would:
 * - "embedded": the embedded store, and `forward` naming VictoriaMetrics A's remote_write URL;
 * - "tsdb": `storage` = VictoriaMetrics B's URL (reads through its query API, writes through its remote_write).
 * (a) agent -> server -> Forwarder -> VictoriaMetrics A: A holds exactly the samples the embedded server holds for
 *     the host (same series, same timestamps, same values to VictoriaMetrics' 12 digits).
 * (c) the "tsdb" server answers the Prometheus API (raw samples, instant and range PromQL) and the JSON API
 *     (series range, domains, one domain) exactly like the embedded one fed the same pushes.
 * (b) agent -> VictoriaMetrics directly is test/integration/push-victoria.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { labelKey } from "../../src/agent/testing/exposition-lines.ts";
import { labGuests } from "../lab.ts";
import { type RunningVictoriaMetrics, sameIn12Digits, startVictoriaMetrics } from "../victoria-metrics.ts";
import {
  addSample,
  type Fleet,
  type FleetAgent,
  json,
  makeFleet,
  metricOf,
  type Samples,
  type ServerProcess,
  serverSamples,
  startFleetAgent,
  startServerProcess,
  text,
  until,
} from "./fleet-helpers.ts";

const HOST = "hv-vm";
const UUID = "0f0f0f0f-0000-4000-8000-00000000000f";
/** Samples searchable at once (no latency offset); a batch an agent resent after a timeout merged (1 ms dedup). */
const VM_ARGS = ["-search.latencyOffset=0s", "-dedup.minScrapeInterval=1ms"];

let dir: string;
let vmA: RunningVictoriaMetrics;
let vmB: RunningVictoriaMetrics;
let embedded: { fleet: Fleet; server: ServerProcess };
let tsdb: { fleet: Fleet; server: ServerProcess };
let agent: FleetAgent;
/** The pushes' span: from before the agent started to after it stopped. */
let since: number;
let end: number;

/** Every sample VictoriaMetrics holds for the host. */
async function vmSamples(vm: RunningVictoriaMetrics): Promise<Samples> {
  await vm.flush();
  const out: Samples = new Map();
  for (const s of await vm.exportSeries(`{host="${HOST}"}`))
    s.timestamps.forEach((t, i) => addSample(out, s.metric, t, s.values[i]!));
  return out;
}

/** `got` equals `want` sample for sample (to 12 digits); NaN samples are not kept by VictoriaMetrics. */
function differences(want: Samples, got: Samples): string[] {
  const out: string[] = [];
  let n = 0;
  for (const [key, m] of want)
    for (const [t, v] of m) {
      if (Number.isNaN(v)) continue;
      n++;
      const have = got.get(key)?.get(t);
      if (have === undefined || !sameIn12Digits(have, v)) out.push(`${key} @${t}: want ${v}, got ${have}`);
    }
  let m = 0;
  for (const s of got.values()) m += s.size;
  if (m !== n) out.push(`${m} samples, want ${n}`);
  return out;
}

async function samplesOf(s: ServerProcess, fleet: Fleet): Promise<Samples> {
  return serverSamples(s.url, fleet.viewer, HOST, since, end);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "kvmon-fleet-vm-"));
  vmA = await startVictoriaMetrics({ args: VM_ARGS });
  vmB = await startVictoriaMetrics({ args: VM_ARGS });
  const fleetE = makeFleet(join(dir, "embedded"), [HOST]);
  const fleetT = makeFleet(join(dir, "tsdb"), [HOST]);
  embedded = {
    fleet: fleetE,
    server: await startServerProcess(fleetE.dataDir, undefined, {
      forward: [{ name: "victoria", url: vmA.writeUrl }],
    }),
  };
  tsdb = { fleet: fleetT, server: await startServerProcess(fleetT.dataDir, undefined, { storage: vmB.url }) };
  since = Date.now();
  agent = await startFleetAgent(
    HOST,
    UUID,
    embedded.server.url,
    fleetE.hostTokenFiles[HOST]!,
    join(dir, "spool-embedded"),
    {
      interval: 1,
      alsoTo: [
        {
          name: "tsdb",
          url: tsdb.server.url,
          tokenFile: fleetT.hostTokenFiles[HOST]!,
          spoolDir: join(dir, "spool-tsdb"),
        },
      ],
    },
  );
  // 30 batches (about 15 snapshots: samples and JSON) taken by both, then the agent stops: the data is still.
  await until("30 batches acknowledged by both servers", 60_000, async () => {
    const m = await text(`${agent.base}/metrics`);
    const sent = (target: string) => metricOf(m, "kvmon_push_sent_batches_total", { target }) ?? 0;
    return sent("server") >= 30 && sent("tsdb") >= 30 ? true : undefined;
  });
  await agent.running.agent.stop();
  await until("both spools drained", 60_000, async () => {
    const m = await text(`${agent.base}/metrics`);
    const queued =
      metricOf(m, "kvmon_push_spool_batches", { target: "server" })! +
      metricOf(m, "kvmon_push_spool_batches", { target: "tsdb" })!;
    return queued === 0 ? true : undefined;
  });
  await agent.running.stop();
  end = Date.now();
});

after(async () => {
  await agent?.running.stop();
  await embedded?.server.stop();
  await tsdb?.server.stop();
  await vmA?.stop();
  await vmB?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("agent -> server -> forward -> VictoriaMetrics: VictoriaMetrics holds exactly the server's samples", async () => {
  const want = await samplesOf(embedded.server, embedded.fleet);
  assert.ok(want.size > 50, `${want.size} series on the embedded server`);
  // The forward spool drains in order after each ingest: poll until VictoriaMetrics has indexed it all.
  let diff: string[] = [];
  await until("VictoriaMetrics A equal to the server", 30_000, async () => {
    diff = differences(want, await vmSamples(vmA));
    return diff.length === 0 ? true : undefined;
  }).catch(() => assert.deepEqual(diff.slice(0, 10), [], `${diff.length} differences`));
});

test("a server on VictoriaMetrics (storage = its URL) answers the Prometheus API like the embedded server", async () => {
  const want = await samplesOf(embedded.server, embedded.fleet);
  let diff: string[] = [];
  await until("the tsdb server's raw samples equal the embedded server's", 30_000, async () => {
    diff = differences(want, await samplesOf(tsdb.server, tsdb.fleet));
    return diff.length === 0 ? true : undefined;
  }).catch(() => assert.deepEqual(diff.slice(0, 10), [], `${diff.length} differences`));
  // And the server's storage really is VictoriaMetrics B: it holds the same samples.
  assert.deepEqual(differences(want, await vmSamples(vmB)).slice(0, 10), []);

  type Result = Array<{
    metric: Record<string, string>;
    value?: [number, string];
    values?: [number, string][];
  }>;
  const ask = async (s: { fleet: Fleet; server: ServerProcess }, path: string, q: Record<string, string>) =>
    (
      await json<{ data: { result: Result } }>(
        `${s.server.url}${path}?${new URLSearchParams(q)}`,
        s.fleet.viewer,
      )
    ).data.result;
  const sorted = (r: Result) => [...r].sort((x, y) => (labelKey(x.metric) < labelKey(y.metric) ? -1 : 1));
  const t = String((end - 2000) / 1000);
  const span = { start: String((since + 2000) / 1000), end: t, step: "2" };
  const queries: Array<[string, Record<string, string>]> = [
    [
      "/api/v1/query",
      { query: `sum by (domain) (rate(kvmon_domain_cpu_seconds_total{host="${HOST}"}[5s]))`, time: t },
    ],
    ["/api/v1/query", { query: `count(kvmon_domain_cpu_seconds_total{host="${HOST}"})`, time: t }],
    ["/api/v1/query", { query: `topk(2, kvmon_domain_memory_current_bytes{host="${HOST}"})`, time: t }],
    [
      "/api/v1/query_range",
      { query: `max by (domain) (kvmon_domain_memory_current_bytes{host="${HOST}"})`, ...span },
    ],
    ["/api/v1/query_range", { query: `rate(kvmon_domain_cpu_seconds_total{host="${HOST}"}[4s])`, ...span }],
  ];
  for (const [path, q] of queries) {
    const a = sorted(await ask(embedded, path, q));
    const b = sorted(await ask(tsdb, path, q));
    assert.ok(a.length > 0, `${q.query}: an answer`);
    assert.deepEqual(
      b.map((x) => x.metric),
      a.map((x) => x.metric),
      `${q.query}: the same series`,
    );
    a.forEach((x, i) => {
      const pa = x.values ?? [x.value!];
      const pb = b[i]!.values ?? [b[i]!.value!];
      assert.deepEqual(
        pb.map(([ts]) => ts),
        pa.map(([ts]) => ts),
        `${q.query}: the same timestamps`,
      );
      pa.forEach(([, v], j) =>
        assert.ok(
          sameIn12Digits(Number(pb[j]![1]), Number(v)),
          `${q.query} @${pa[j]![0]}: ${pb[j]![1]} vs ${v}`,
        ),
      );
    });
  }
});

test("a server on VictoriaMetrics answers the JSON API like the embedded server", async () => {
  const get = <T>(s: { fleet: Fleet; server: ServerProcess }, path: string) =>
    json<T>(`${s.server.url}${path}`, s.fleet.viewer);
  const range = new URLSearchParams({
    metric: "kvmon_domain_cpu_seconds_total",
    start: String(since / 1000),
    end: String(end / 1000),
    step: "3",
    agg: "max",
  });
  range.append("match", `host=${HOST}`);
  type Range = { series: Array<{ labels: Record<string, string>; points: [number, number][] }> };
  const a = await get<Range>(embedded, `/api/v1/series/range?${range}`);
  const b = await get<Range>(tsdb, `/api/v1/series/range?${range}`);
  assert.ok(a.series.length >= labGuests.length, "a series per lab guest");
  const byLabels = (r: Range) => new Map(r.series.map((s) => [labelKey(s.labels), s.points]));
  const pb = byLabels(b);
  for (const [key, points] of byLabels(a)) {
    const other = pb.get(key);
    assert.ok(other, `${key} from the tsdb server`);
    assert.deepEqual(
      other.map(([ts]) => ts),
      points.map(([ts]) => ts),
      key,
    );
    points.forEach(([, v], i) =>
      assert.ok(sameIn12Digits(other[i]![1], v), `${key}: ${other[i]![1]} vs ${v}`),
    );
  }
  assert.equal(pb.size, a.series.length);
  // The snapshot views come from the pushed snapshots, the same on both (but for when each server took them).
  const path = `/api/v1/domains?host=${HOST}`;
  assert.deepEqual(await get(tsdb, path), await get(embedded, path), path);
  type View = { hostStatus: unknown };
  const one = `/api/v1/domains/${HOST}/${labGuests[0]}`;
  const { hostStatus: _t, ...viewT } = await get<View>(tsdb, one);
  const { hostStatus: _e, ...viewE } = await get<View>(embedded, one);
  assert.deepEqual(viewT, viewE, one);
});

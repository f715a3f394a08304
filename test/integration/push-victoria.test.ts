/**
 * The agent pushing straight to a real VictoriaMetrics (started by the test, test/victoria-metrics.ts) on the
 * lab's qemu:///system: the samples VictoriaMetrics holds equal the agent's own /metrics at the same timestamps;
 * and a kill -9 of the agent process while VictoriaMetrics is down loses nothing it had spooled: after a restart
 * the spool replays in order and every spooled sample is in VictoriaMetrics (duplicates merged by its dedup).
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/agent/config.ts";
import { Spool } from "../../src/protocol/remote-write/spool.ts";
import { labelKey, parseExposition } from "../../src/agent/testing/exposition-lines.ts";
import { decodeWrite } from "../../src/protocol/remote-write/index.ts";
import { type RunningChild, startAgentProcess, startTestAgent } from "../agent-helpers.ts";
import { labGuests } from "../lab.ts";
import { metricOf, text, until } from "./fleet-helpers.ts";
import {
  freePort,
  type RunningVictoriaMetrics,
  sameIn12Digits,
  startVictoriaMetrics,
} from "../victoria-metrics.ts";

/** Samples searchable at once (no latency offset); exact duplicates from a replay merged (dedup at 1 ms). */
const PUSH_ARGS = ["-search.latencyOffset=0s", "-dedup.minScrapeInterval=1ms"];

/** Families rendered from the snapshot (timestamped at its end), not the per-scrape agent lines. */
const FROM_SNAPSHOT = /^kvmon_(domain|host|collector|source)_/;

/** Expected `(labels, timestamp) -> value`; resolves with what VictoriaMetrics lacks or differs in (empty: all there). */
async function missingIn(
  vm: RunningVictoriaMetrics,
  expected: Map<string, Map<number, number>>,
): Promise<string[]> {
  await vm.flush();
  const got = new Map<string, Map<number, number>>();
  for (const s of await vm.exportSeries(`{host="${hostname()}"}`))
    got.set(labelKey(s.metric), new Map(s.timestamps.map((t, i) => [t, s.values[i]!])));
  const missing: string[] = [];
  for (const [key, samples] of expected)
    for (const [t, v] of samples) {
      const have = got.get(key)?.get(t);
      if (have === undefined || !sameIn12Digits(have, v))
        missing.push(`${key} @${t}: want ${v}, VictoriaMetrics has ${have}`);
    }
  return missing;
}

/** VictoriaMetrics indexes new series within about a second of a flush: poll until nothing is missing. */
async function assertAllIn(
  vm: RunningVictoriaMetrics,
  expected: Map<string, Map<number, number>>,
): Promise<void> {
  let missing: string[] = [];
  for (let i = 0; i < 20; i++) {
    missing = await missingIn(vm, expected);
    if (missing.length === 0) return;
    await sleep(500);
  }
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} samples missing or different`);
}

function add(
  expected: Map<string, Map<number, number>>,
  labels: Record<string, string>,
  t: number,
  v: number,
) {
  // VictoriaMetrics drops NaN samples (it reads them as staleness markers).
  if (Number.isNaN(v)) return;
  const key = labelKey(labels);
  if (!expected.has(key)) expected.set(key, new Map());
  expected.get(key)!.set(t, v);
}

/** SIGKILL, and wait for the exit. */
async function killHard(agent: RunningChild): Promise<void> {
  if (agent.child.exitCode !== null || agent.child.signalCode !== null) return;
  const exited = new Promise((r) => agent.child.once("exit", r));
  agent.child.kill("SIGKILL");
  await exited;
}

/** What a killed agent had spooled, read from a copy (reading must not change the evidence). */
function readSpool(
  spoolDir: string,
  copy: string,
): { expected: Map<string, Map<number, number>>; batches: number } {
  cpSync(spoolDir, copy, { recursive: true });
  const spool = new Spool({ dir: copy, maxBytes: 1 << 30 });
  const expected = new Map<string, Map<number, number>>();
  let batches = 0;
  for (let b = spool.peek(); b; b = spool.peek()) {
    for (const s of decodeWrite(b.payload, 1 << 26))
      for (const x of s.samples)
        add(expected, Object.fromEntries(s.labels.map((l) => [l.name, l.value])), x.timestamp, x.value);
    batches++;
    spool.ack(b.id);
  }
  spool.close();
  return { expected, batches };
}

test("agent -> VictoriaMetrics: every snapshot series in VictoriaMetrics equals /metrics at the snapshot's time", async () => {
  const vm = await startVictoriaMetrics({ args: PUSH_ARGS });
  const spoolDir = mkdtempSync(join(tmpdir(), "kvmon-push-"));
  const config = loadConfig({
    file: "push.json",
    readFile: () =>
      JSON.stringify({
        listen: "127.0.0.1:0",
        interval: 2,
        push: [{ url: vm.writeUrl, name: "vm", spoolDir }],
      }),
  });
  const { running, base } = await startTestAgent(config);
  try {
    // One snapshot's /metrics: the collection time is the same before and after the scrape.
    const view = await until("a /metrics of one snapshot with the lab guests", 30_000, async () => {
      const at = async () =>
        ((await (await fetch(`${base}/api/v1/host`)).json()) as { collectedAt?: number }).collectedAt;
      const before = await at();
      const metrics = await text(`${base}/metrics`);
      const after = await at();
      const ok =
        before !== undefined && before === after && labGuests.every((g) => metrics.includes(`domain="${g}"`));
      return ok ? { t: before, metrics } : undefined;
    });
    await until("the snapshot's batch acknowledged", 30_000, async () => {
      const m = await text(`${base}/metrics`);
      const last = metricOf(m, "kvmon_push_last_success_timestamp_seconds") ?? 0;
      return last * 1000 >= view.t ? true : undefined;
    });
    const identity = { host: hostname(), instance: `${hostname()}:${running.address.port}` };
    const expected = new Map<string, Map<number, number>>();
    const lines = parseExposition(view.metrics).filter((s) => FROM_SNAPSHOT.test(s.labels.__name__!));
    for (const s of lines) add(expected, { ...s.labels, ...identity }, view.t, s.value);
    assert.ok(expected.size > 100, `${expected.size} series compared`);
    await assertAllIn(vm, expected);
    const m = await text(`${base}/metrics`);
    assert.equal(metricOf(m, "kvmon_push_failures_total"), undefined, "no failed send");
    assert.ok((metricOf(m, "kvmon_push_sent_samples_total") ?? 0) >= lines.length);
  } finally {
    await running.stop();
    await vm.stop();
    rmSync(spoolDir, { recursive: true, force: true });
  }
});

test("kill -9 of the agent while VictoriaMetrics is down: after a restart every spooled sample arrives", async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "kvmon-push-kill-"));
  const spoolDir = join(dir, "spool");
  const configFile = join(dir, "agent.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      listen: "127.0.0.1:0",
      interval: 1,
      push: [{ url: `http://127.0.0.1:${port}/api/v1/write`, name: "vm", spoolDir, timeoutSeconds: 2 }],
    }),
  );
  let vm: RunningVictoriaMetrics | null = null;
  let agent = await startAgentProcess(["--config", configFile]);
  try {
    await until("5 batches spooled while the target is down", 60_000, async () => {
      const n = metricOf(await text(`${agent.base}/metrics`), "kvmon_push_spool_batches") ?? 0;
      return n >= 5 ? n : undefined;
    });
    await killHard(agent);
    const { expected, batches } = readSpool(spoolDir, join(dir, "copy"));
    assert.ok(batches >= 5, `${batches} batches spooled`);
    vm = await startVictoriaMetrics({ port, args: PUSH_ARGS });
    agent = await startAgentProcess(["--config", configFile]);
    await until("the replay logged", 10_000, async () =>
      agent.log.some((l) => /replaying spooled batches/.test(l)) ? true : undefined,
    );
    await until("the spool drained", 60_000, async () => {
      const m = await text(`${agent.base}/metrics`);
      return metricOf(m, "kvmon_push_spool_batches") === 0 &&
        (metricOf(m, "kvmon_push_sent_batches_total") ?? 0) >= batches
        ? true
        : undefined;
    });
    await assertAllIn(vm, expected);
    // Kill it again mid-stream (target up, a batch a second), restart: whatever it had spooled arrives too.
    const sent = metricOf(await text(`${agent.base}/metrics`), "kvmon_push_sent_batches_total") ?? 0;
    await until("3 more batches sent", 30_000, async () => {
      const n = metricOf(await text(`${agent.base}/metrics`), "kvmon_push_sent_batches_total") ?? 0;
      return n >= sent + 3 ? true : undefined;
    });
    await killHard(agent);
    const inFlight = readSpool(spoolDir, join(dir, "copy2"));
    agent = await startAgentProcess(["--config", configFile]);
    await until("the spool drained again", 60_000, async () => {
      const n = metricOf(await text(`${agent.base}/metrics`), "kvmon_push_spool_batches");
      return n === 0 ? true : undefined;
    });
    await assertAllIn(vm, inFlight.expected);
    // Every successful collection of each agent process (its own `instance`) is in VictoriaMetrics: collections
    // minus failed ones count up by exactly 1 from push to push, across the outage and both kills.
    const byInstance = async (name: string) => {
      const out = new Map<string, Map<number, number>>();
      for (const r of await vm!.exportSeries(`${name}{host="${hostname()}"}`))
        out.set(r.metric.instance!, new Map(r.timestamps.map((t, i) => [t, r.values[i]!])));
      return out;
    };
    const collections = await byInstance("kvmon_collections_total");
    const failures = await byInstance("kvmon_collection_failures_total");
    assert.ok(collections.size >= 2, `${collections.size} agent processes seen`);
    for (const [instance, counts] of collections) {
      const ok = [...counts]
        .sort((a, b) => a[0] - b[0])
        .map(([t, n]) => n - (failures.get(instance)?.get(t) ?? 0));
      for (let i = 1; i < ok.length; i++)
        assert.equal(ok[i]! - ok[i - 1]!, 1, `${instance}: a gap after ${ok[i - 1]}`);
    }
    // A replayed duplicate is merged: one sample per timestamp.
    const up = (await vm.exportSeries(`kvmon_libvirt_up{host="${hostname()}"}`)).flatMap((s) => s.timestamps);
    assert.equal(new Set(up).size, up.length);
  } finally {
    await agent.stop();
    await vm?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

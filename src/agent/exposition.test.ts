import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { loadStats, loadXml } from "../collectors/fixtures/load.ts";
import { collectors } from "../collectors/registry.ts";
import { parseSnapshot } from "../model/schema.ts";
import type { Snapshot } from "../model/types.ts";
import { renderAgent, renderSnapshot } from "./exposition.ts";
import { testAgent } from "./testing/setup.ts";

const GOLDEN = new URL("./testdata/metrics.golden", import.meta.url);
/** The same snapshot as JSON: the model's schema test reads it as a real snapshot (src/model/schema.test.ts). */
const GOLDEN_JSON = new URL("../model/testdata/snapshot.golden.json", import.meta.url);
const flush = () => new Promise((r) => setImmediate(r));

/** Two collections over real fixtures of four domains (TCG with balloon, KVM with nova metadata, shut off, lab). */
export async function fixtureSnapshot(): Promise<{ snap: Snapshot; text: string }> {
  const t = testAgent();
  const sets = [
    ["tcg-1.stats", "kvm-nova-1.stats", "shutoff.stats", "lab-1-1.stats"],
    ["tcg-2.stats", "kvm-nova-2.stats", "shutoff.stats", "lab-1-2.stats"],
  ];
  for (const [file, xml] of [
    ["tcg-1.stats", "tcg.xml"],
    ["kvm-nova-1.stats", "kvm-nova.xml"],
    ["shutoff.stats", "shutoff.xml"],
    ["lab-1-1.stats", "lab-1.xml"],
  ] as const) {
    t.source.xml.set(loadStats(file).record.domain.uuid, loadXml(xml));
  }
  for (const files of sets) {
    const loaded = files.map((f) => loadStats(f));
    t.clock.now = loaded[0]!.recordedAt;
    t.source.replyWith(loaded.map((l) => l.record));
    await t.agent.tick();
    await flush();
  }
  const raw = t.agent.snapshot()!;
  // Durations are the only nondeterministic values: pin them for the golden comparison.
  const snap = {
    ...raw,
    startedAt: raw.finishedAt,
    collectors: raw.collectors.map((c) => ({ ...c, durationSeconds: 0.001 })),
  };
  const text =
    renderSnapshot(snap, collectors) +
    renderAgent({ ...t.agent.status, lastStatsCallSeconds: 0.002 }, t.source.conn, snap);
  return { snap, text };
}

test("golden /metrics from recorded fixtures (UPDATE_GOLDEN=1 to regenerate after a deliberate change)", async () => {
  const { text } = await fixtureSnapshot();
  if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, text);
  const golden = readFileSync(GOLDEN, "utf8");
  assert.equal(text, golden);
});

test("golden snapshot JSON from the same fixtures; it matches the model's runtime schema", async () => {
  const { snap } = await fixtureSnapshot();
  const json = `${JSON.stringify(snap, null, 1)}\n`;
  if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN_JSON, json);
  assert.equal(json, readFileSync(GOLDEN_JSON, "utf8"));
  assert.deepEqual(parseSnapshot(JSON.parse(json)), snap);
});

test("promtool check metrics accepts the exposition (names, units, _total counters, HELP/TYPE)", async () => {
  const { text } = await fixtureSnapshot();
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.equal(
    r.error,
    undefined,
    `promtool not runnable (install the Debian package prometheus): ${r.error}`,
  );
  assert.equal(`${r.stdout}${r.stderr}`.trim(), "", "promtool findings");
  assert.equal(r.status, 0);
});

test("every series carries domain and uuid; metadata lives in *_info metrics, not on every series", async () => {
  const { text } = await fixtureSnapshot();
  for (const line of text.split("\n")) {
    if (!line.startsWith("kvmon_domain_")) continue;
    assert.match(line, /^kvmon_domain_\w+\{domain="[^"]+",uuid="[0-9a-f-]{36}"/, line);
    if (!line.includes("_info{")) assert.doesNotMatch(line, /project_name|mac=|instance_name/, line);
  }
  assert.match(
    text,
    /kvmon_domain_openstack_info\{domain="kvmon-fixture-nova",uuid="[^"]+",instance_name="web-frontend-01",project_name="webshop & \\"prod\\"",/,
  );
  // A shut-off domain shows its state and counts, but no runtime series.
  assert.match(text, /kvmon_domain_state_info\{domain="kvmon-fixture-off",[^}]*state="shutoff"/);
  assert.doesNotMatch(text, /kvmon_domain_cpu_seconds_total\{domain="kvmon-fixture-off"/);
});

test("docs/agent.md documents every metric the agent can expose", async () => {
  const doc = readFileSync(new URL("../../docs/agent.md", import.meta.url), "utf8");
  const { selfMetrics } = await import("./self-metrics.ts");
  const { processMetrics } = await import("../metrics/process.ts");
  const { pushMetrics } = await import("./push/metrics.ts");
  const names = [
    ...collectors.flatMap((c) => c.metrics.map((m) => m.name)),
    ...Object.values(selfMetrics).map((m) => m.name),
    ...Object.values(processMetrics).map((m) => m.name),
    ...Object.values(pushMetrics).map((m) => m.name),
  ];
  const missing = names.filter((n) => !doc.includes(`\`${n}\``));
  assert.deepEqual(missing, []);
});

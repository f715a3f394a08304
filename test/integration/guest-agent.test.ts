/**
 * A whole agent (startAgent, qemu:///system) with the guest view on: /metrics carries kvmon_guest_* for both
 * lab guests and passes promtool, the domain API's guest section is valid against the model's schema and
 * agrees with the guest's own answers, and the host metrics keep being collected every interval meanwhile.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/agent/config.ts";
import { startTestAgent } from "../agent-helpers.ts";
import type { RunningAgent } from "../../src/agent/server.ts";
import { domainSampleSchema, parseWith } from "../../src/model/schema.ts";
import { GUEST_URI, guestSh, seriesValue as value } from "../guest-helpers.ts";
import { labGuests } from "../lab.ts";

const INTERVAL_S = 2;
let running: RunningAgent;
let base = "";

const metrics = async () => (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();

before(async () => {
  const config = loadConfig({
    flags: { listen: "127.0.0.1:0", interval: String(INTERVAL_S) },
    env: {},
    file: "guest.json",
    readFile: () =>
      JSON.stringify({ uri: GUEST_URI, guest: { fast: INTERVAL_S, medium: 4, slow: 4, callTimeout: 1.5 } }),
  });
  assert.equal(config.guest.enabled, true);
  ({ running, base } = await startTestAgent(config));
  // Both guests' agents answered through the view's own read-write connection.
  for (let i = 0; i < 60; i++) {
    const text = await metrics();
    if (
      labGuests.every(
        (d) => value(text, "kvmon_guest_agent_status", { domain: d, status: "connected" }) === 1,
      )
    )
      return;
    await sleep(500);
  }
  assert.fail(`guest view not connected for ${labGuests.join(", ")}:\n${(await metrics()).slice(0, 3000)}`);
});

after(async () => {
  await running?.stop();
});

test("/metrics has kvmon_guest_* for both lab guests and passes promtool check metrics", async () => {
  await sleep(2 * INTERVAL_S * 1000); // a second fast read: CPU shares need two
  const text = await metrics();
  for (const domain of labGuests) {
    for (const family of [
      "kvmon_guest_memory_total_bytes",
      "kvmon_guest_load1",
      "kvmon_guest_vcpus_online",
      "kvmon_guest_agent_commands",
    ]) {
      const v = value(text, family, { domain });
      // A quiet guest's load average can be 0; the others are positive on any running guest.
      assert.ok(v !== undefined && (v > 0 || family === "kvmon_guest_load1"), `${family} ${domain}: ${v}`);
    }
    assert.ok(Math.abs(value(text, "kvmon_guest_clock_drift_seconds", { domain })!) < 5, `drift ${domain}`);
    assert.ok(value(text, "kvmon_guest_cpu_ratio", { domain, mode: "user" }) !== undefined, `cpu ${domain}`);
    assert.ok(value(text, "kvmon_guest_filesystem_used_bytes", { domain, mountpoint: "/mnt/data" })! > 0);
    assert.equal(value(text, "kvmon_guest_network_info", { domain, interface: "eth0" }), 1);
    assert.ok(/^kvmon_guest_os_info\{/m.test(text));
  }
  const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.equal(lint.status, 0, lint.stderr);
  assert.equal(`${lint.stdout}${lint.stderr}`.trim(), "", "promtool on the live /metrics");
});

test("/api/v1/domains/kvmon-lab-1 has the guest section, valid against the model's schema, as the guest says", async () => {
  const guest = labGuests[0]!;
  const r = await fetch(`${base}/api/v1/domains/${guest}`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200);
  const body = (await r.json()) as { domain: unknown };
  const d = parseWith(domainSampleSchema, body.domain, "the domain API's answer");
  const g = d.guest;
  assert.ok(g, "guest section present");
  assert.equal(g.agent.status, "connected");
  assert.equal(g.agent.lastError, null);
  assert.equal(g.identity?.hostname, guest);
  const memTotal =
    Number(/^MemTotal:\s+(\d+) kB/m.exec(await guestSh(guest, "cat /proc/meminfo"))![1]) * 1024;
  assert.equal(g.memory?.totalBytes, memTotal);
  assert.ok(g.cpu?.idle !== null && g.cpu!.idle! >= 0, JSON.stringify(g.cpu));
  assert.ok(
    Date.now() - g.sampledAt < 3 * INTERVAL_S * 1000,
    `guest sampled ${Date.now() - g.sampledAt} ms ago`,
  );
});

test("the host metrics keep being collected every interval while the guest view runs", async () => {
  const agent = running.agent;
  const start = { ...agent.status };
  const finished = new Set<number>();
  const guestSampled = new Set<number>();
  const windowMs = 6 * INTERVAL_S * 1000;
  for (const end = Date.now() + windowMs; Date.now() < end; await sleep(250)) {
    const snap = agent.snapshot();
    if (snap) finished.add(snap.finishedAt);
    const g = snap?.domains.find((x) => x.name === labGuests[1])?.guest;
    if (g) guestSampled.add(g.sampledAt);
  }
  const status = agent.status;
  const collections = status.collections - start.collections;
  assert.ok(collections >= 5, `${collections} collections in ${windowMs} ms`);
  assert.equal(status.failedCollections, start.failedCollections, status.lastError ?? "");
  assert.equal(status.skippedIntervals, start.skippedIntervals);
  const times = [...finished].sort((a, b) => a - b);
  for (let i = 1; i < times.length; i++)
    assert.ok(times[i]! - times[i - 1]! < 1.5 * INTERVAL_S * 1000, `gap ${times[i]! - times[i - 1]!} ms`);
  assert.ok(guestSampled.size >= 4, `guest of ${labGuests[1]} refreshed ${guestSampled.size} times`);
  const guestSource = agent.snapshot()!.sources.find((s) => s.name === "guest");
  assert.equal(guestSource?.timeouts, 0);
  assert.equal(guestSource?.failures, 0);
});

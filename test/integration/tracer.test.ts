/**
 * The tracer through a whole agent (startAgent with a control token, HTTP on an ephemeral port) on this
 * machine's real tracefs and the KVM boot-sector guest: switched on for the guest, events come from its vCPU
 * threads only; over a window bounded by pausing the guest, the traced kvm_emulate_insn count equals the delta of
 * KVM's own vcpu.0.insn_emulation.sum within 1 %; the boot sector's `out 0x80` dominates the port I/O; the
 * status names kvm_exit as enabled but silent (kvm_pvm); the duration limit switches it off and the instance is
 * gone; an instance a killed agent left is removed at the next start.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/agent/config.ts";
import type { RunningAgent } from "../../src/agent/server.ts";
import { findTracefs, TraceInstance } from "../../src/protocol/tracefs/index.ts";
import type { DomainCounts, RecentEvent, TracerStatus } from "../../src/tracer/index.ts";
import { startTestAgent, SYSTEM_URI } from "../agent-helpers.ts";
import { kvmSkipReason, withKvmGuest } from "../lab.ts";
import { virsh } from "../libvirt-helpers.ts";
import { insnEmulation, qemuPid, untilBootLoop, vcpuThreads } from "../tracer-helpers.ts";

const TOKEN = "kvmon-tracer-test-token-0123456789";
let dir: string;
const running: RunningAgent[] = [];

async function startTracingAgent(): Promise<string> {
  const config = loadConfig({
    file: "config.json",
    readFile: () => JSON.stringify({ trace: { maxDurationSeconds: 120, ringSize: 1024, bufferKb: 4096 } }),
    flags: { listen: "127.0.0.1:0", interval: "10", "audit-log": join(dir, "audit.log") },
    env: { KVMON_URI: SYSTEM_URI, KVMON_CONTROL_TOKEN: TOKEN },
  });
  const agent = await startTestAgent(config);
  running.push(agent.running);
  return agent.base;
}

async function call<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(json)}`);
  return json;
}

before(async () => {
  await findTracefs();
  dir = await mkdtemp(join(tmpdir(), "kvmon-tracer-it-"));
});

after(async () => {
  for (const r of running) await r.stop();
  await rm(dir, { recursive: true, force: true });
});

test("an instance a killed agent left is removed when the next agent starts", async () => {
  const dead = spawnSync("true").pid!;
  const stale = await TraceInstance.create("agent", { pid: dead });
  await stale.enableEvents(["kvm:kvm_pio"], [dead]);
  await startTracingAgent();
  assert.ok(!existsSync(stale.path), `${stale.path} removed at start`);
});

test("a real agent killed with SIGKILL while tracing leaves its instance; the next agent removes it", async () => {
  const child = spawn(
    new URL("../../bin/kvmon", import.meta.url).pathname,
    ["agent", "--listen", "127.0.0.1:0", "--interval", "10", "--audit-log", join(dir, "killed-audit.log")],
    {
      env: { ...process.env, KVMON_URI: SYSTEM_URI, KVMON_CONTROL_TOKEN: TOKEN },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  try {
    const address = await listeningAddress(child);
    const on = await call<TracerStatus>(`http://${address}`, "POST", "/api/v1/trace", {
      all: true,
      events: ["kvm:kvm_pio"],
      durationSeconds: 60,
    });
    assert.ok(on.instance !== null && existsSync(on.instance), "the child agent traces");
    child.kill("SIGKILL");
    await once(child, "exit");
    assert.ok(existsSync(on.instance), "SIGKILL gave the agent no chance to remove its instance");
    await startTracingAgent();
    assert.ok(!existsSync(on.instance), `${on.instance} removed when the next agent started`);
  } finally {
    child.kill("SIGKILL");
  }
});

/**
 * The host:port from the agent's "agent listening" log line (it listens on an ephemeral port). stderr keeps being
 * drained after: a closed pipe would fail the agent's next log line.
 */
function listeningAddress(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      text += chunk;
      const m = /"msg":"agent listening","address":"([^"]+)"/.exec(text);
      if (m) resolve(m[1]!);
    });
    child.once("exit", () => reject(new Error(`the agent exited before listening: ${text}`)));
  });
}

test(
  "on the KVM guest: its vCPU threads only, kvm_emulate_insn as KVM counts it, port 0x80 first, kvm_exit silent, off by itself",
  { skip: await kvmSkipReason() },
  async () => {
    const base = await startTracingAgent();
    await withKvmGuest(async (domain) => {
      await untilBootLoop(domain);
      const tids = await vcpuThreads(await qemuPid(domain));
      const on = await call<TracerStatus>(base, "POST", "/api/v1/trace", {
        domains: [domain],
        durationSeconds: 60,
      });
      assert.ok(on.on && on.instance !== null && existsSync(on.instance));
      assert.deepEqual(
        on.domains.find((d) => d.domain === domain)?.vcpuThreads,
        Object.fromEntries([...tids].map(([vcpu, tid]) => [String(tid), vcpu])),
      );
      let before = 0;
      let after = 0;
      let tracedBefore = 0;
      let tracedAfter = 0;
      const traced = async () =>
        (await call<DomainCounts>(base, "GET", `/api/v1/trace/${domain}/counts`)).events.kvm_emulate_insn
          ?.count ?? 0;
      // With the guest paused no event is added: wait until the tracer has read everything before the pause
      // (its count stops moving). A fixed wait was too short on a loaded machine: the reader's polls run late.
      const settled = async () => {
        let last = await traced();
        for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
          await sleep(250);
          const now = await traced();
          if (now === last) return now;
          last = now;
        }
        return last;
      };
      try {
        await virsh(SYSTEM_URI, "suspend", domain);
        before = await insnEmulation(domain);
        tracedBefore = await settled();
        await virsh(SYSTEM_URI, "resume", domain);
        await sleep(2000);
        await virsh(SYSTEM_URI, "suspend", domain);
        after = await insnEmulation(domain);
        tracedAfter = await settled();
      } finally {
        await virsh(SYSTEM_URI, "resume", domain);
      }
      const counted = after - before;
      const got = tracedAfter - tracedBefore;
      const diff = Math.abs(got - counted) / counted;
      process.stderr.write(
        `kvm_emulate_insn via the agent: traced ${got}, KVM counted ${counted} (${(diff * 100).toFixed(3)} %)\n`,
      );
      assert.ok(counted > 10_000, `the guest emulated ${counted} instructions in 2 s`);
      assert.ok(diff <= 0.01, `traced ${got} vs counted ${counted}`);

      const counts = await call<DomainCounts>(base, "GET", `/api/v1/trace/${domain}/counts`);
      const pio = counts.rows.filter((r) => r.event === "kvm_pio");
      assert.deepEqual([pio[0]?.target, pio[0]?.reason], ["0x80", "write"], JSON.stringify(pio.slice(0, 3)));
      assert.ok(pio[0]!.count > 0.9 * pio.reduce((a, r) => a + r.count, 0), "out 0x80 dominates port I/O");
      const { events } = await call<{ events: RecentEvent[] }>(
        base,
        "GET",
        `/api/v1/trace/${domain}/events?limit=1024`,
      );
      assert.equal(events.length, 1024, "the ring is full");
      assert.deepEqual(
        [...new Set(events.map((e) => e.vcpu))].filter((v) => !tids.has(v)),
        [],
        "its vCPUs only",
      );
      const since = events[1000]!.time;
      const later = await call<{ events: RecentEvent[] }>(
        base,
        "GET",
        `/api/v1/trace/${domain}/events?limit=1024&since=${since}`,
      );
      assert.ok(later.events.every((e) => e.time > since));
      const status = await call<TracerStatus>(base, "GET", "/api/v1/trace");
      assert.deepEqual(
        [status.health.eventsLost, status.health.eventsUnmatched, status.health.corruptPages],
        [0, 0, 0],
      );
      if (status.events.includes("kvm:kvm_exit"))
        assert.ok(status.silent.includes("kvm:kvm_exit"), "kvm_exit silent");
      assert.ok(!status.silent.includes("kvm:kvm_emulate_insn"));
      process.stderr.write(
        `tracer: ${status.health.eventsRead} events read, ${status.health.cpuSeconds.toFixed(3)} CPU s, ${status.health.polls} polls\n`,
      );
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(
        metrics,
        new RegExp(
          `kvmon_trace_events_total\\{domain="${domain}",vcpu="0",event="kvm_pio",reason="write"\\} \\d+`,
        ),
      );

      // Off on request, then the duration limit: on for 2 s, off by itself, the instance gone.
      const off = await call<TracerStatus>(base, "DELETE", `/api/v1/trace/${domain}`);
      assert.equal(off.on, false);
      assert.ok(!existsSync(on.instance));
      const short = await call<TracerStatus>(base, "POST", "/api/v1/trace", {
        domains: [domain],
        durationSeconds: 2,
      });
      assert.ok(short.on);
      await sleep(3000);
      const ended = await call<TracerStatus>(base, "GET", "/api/v1/trace");
      assert.equal(ended.on, false, "off by itself after its duration");
      assert.ok(!existsSync(short.instance!), "the instance is gone");
      assert.equal(ended.domains.find((d) => d.domain === domain)?.on, false);
    });
  },
);

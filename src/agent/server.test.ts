import assert from "node:assert/strict";
import { createHook } from "node:async_hooks";
import { spawnSync } from "node:child_process";
import { Agent as HttpAgent, get as httpGet } from "node:http";
import { test } from "node:test";
import { loadStats } from "../collectors/fixtures/load.ts";
import { loadConfig } from "./config.ts";
import { isLocalUri, startAgent } from "./server.ts";
import { FakeSource } from "./testing/fake-source.ts";

test("a whole agent over real HTTP: /metrics with domain, agent and process metrics; JSON API; clean stop", async () => {
  const source = new FakeSource();
  source.replyWith([loadStats("tcg-1.stats").record]);
  const config = loadConfig({ flags: { listen: "127.0.0.1:0", interval: "1" }, env: {} });
  const logs: string[] = [];
  const running = await startAgent(config, source, (l) => logs.push(l));
  try {
    const base = `http://127.0.0.1:${running.address.port}`;
    // The first collection runs at start; wait for it (bounded).
    for (let i = 0; i < 100 && !running.agent.snapshot(); i++) await new Promise((r) => setTimeout(r, 20));
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /^kvmon_domain_state_code\{domain="kvmon-fixture-tcg",/m);
    assert.match(text, /^kvmon_libvirt_up 1$/m);
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
    assert.match(text, /^nodejs_heap_size_used_bytes \d+$/m);
    assert.match(text, /^kvmon_collection_delay_seconds [\d.e-]+$/m);
    const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(`${lint.stdout}${lint.stderr}`.trim(), "", "promtool findings on the live /metrics");
    const d = (await (await fetch(`${base}/api/v1/domains/kvmon-fixture-tcg`)).json()) as {
      domain: { uuid: string };
    };
    assert.equal(d.domain.uuid, "c2009ff1-f10e-4e3e-8fb7-bb997730115c");
  } finally {
    await running.stop();
  }
  assert.match(logs[0]!, /"msg":"agent listening"/);
  assert.match(logs.at(-1)!, /"msg":"agent stopped"/);
});

test("only host-less URIs are local (uptime from /proc needs the agent on the libvirt host)", () => {
  assert.equal(isLocalUri("qemu:///system"), true);
  assert.equal(isLocalUri("qemu+unix:///system?socket=/x"), true);
  assert.equal(isLocalUri("qemu+tcp://hv1/system"), false);
  assert.equal(isLocalUri("qemu+tls://hv1.example:16514/system"), false);
});

/** A whole agent over a recorded fixture on an ephemeral port, and a kept-alive HTTP client for it. */
async function keptAliveAgent(interval: string) {
  const source = new FakeSource();
  source.replyWith([loadStats("tcg-1.stats").record]);
  const config = loadConfig({ flags: { listen: "127.0.0.1:0", interval }, env: {} });
  const running = await startAgent(config, source, () => {});
  const agent = new HttpAgent({ keepAlive: true });
  /** GET `path` to its end: the client socket's local port (the same port = the same connection), the Date. */
  const get = (path: string) =>
    new Promise<{ localPort: number; date: string | undefined }>((resolve, reject) => {
      const req = httpGet({ host: "127.0.0.1", port: running.address.port, path, agent }, (res) => {
        res.resume();
        res.on("end", () => resolve({ localPort: req.socket!.localPort!, date: res.headers.date }));
      });
      req.on("error", reject);
    });
  const close = async () => {
    agent.destroy();
    await running.stop();
  };
  return { get, close };
}

test("a kept-alive scrape connection survives a 7 s pause (Node's default closes idle ones after 5 s + 1 s grace)", async () => {
  const a = await keptAliveAgent("1");
  try {
    const first = (await a.get("/healthz")).localPort;
    await new Promise((r) => setTimeout(r, 7000));
    assert.equal((await a.get("/healthz")).localPort, first, "the second scrape reused the first connection");
  } finally {
    await a.close();
  }
});

test("serving a scrape arms no short timer (Node's Date header cache would wake the agent a second later)", async () => {
  const a = await keptAliveAgent("3600");
  const created: number[] = [];
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === "Timeout") created.push((resource as { _idleTimeout: number })._idleTimeout);
    },
  });
  try {
    await a.get("/metrics");
    // Node's own Date cache lives one second: past it, a scrape would arm the cache-reset timer again.
    await new Promise((r) => setTimeout(r, 1100));
    hook.enable();
    const { date } = await a.get("/metrics");
    hook.disable();
    assert.ok(Math.abs(Date.parse(date!) - Date.now()) < 5000, `a current Date header (${date})`);
    // Only the kept-alive socket's idle timeout (120 s + Node's 1 s grace) may be armed by serving.
    assert.deepEqual(
      created.filter((ms) => ms < 120_000),
      [],
      `timers armed while serving: ${created.join(", ")} ms`,
    );
  } finally {
    hook.disable();
    await a.close();
  }
});

/**
 * The agent's HTTP server against real time: Node's HTTP keep-alive and its Date header cache run on Node's
 * internal timers, which node:test's mock timers do not reach, so these two checks must wait in real time (7 s
 * and 1.1 s). They live here, beside the other slow tests, so the unit suite stays fast.
 */
import assert from "node:assert/strict";
import { createHook } from "node:async_hooks";
import { Agent as HttpAgent, get as httpGet } from "node:http";
import { test } from "node:test";
import { loadConfig } from "../../src/agent/config.ts";
import { startAgent } from "../../src/agent/server.ts";
import { FakeSource } from "../../src/agent/testing/fake-source.ts";
import { loadStats } from "../../src/collectors/fixtures/load.ts";

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

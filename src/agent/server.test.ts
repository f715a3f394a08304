import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Agent as UndiciAgent } from "undici";
import { loadStats } from "../collectors/fixtures/load.ts";
import { selfSigned } from "../shared/testing/self-signed.ts";
import { loadConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";
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
    assert.equal(lint.error, undefined, "promtool runs (scripts/setup.sh --test-deps installs it)");
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

test("with tlsCert/tlsKey the agent serves HTTPS only; a bad key file stops the start naming tlsKey", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kvmon-agent-tls-"));
  const { cert, key } = selfSigned(dir, "agent");
  const dispatcher = new UndiciAgent({ connect: { ca: readFileSync(cert, "utf8") } });
  const source = new FakeSource();
  source.replyWith([loadStats("tcg-1.stats").record]);
  const flags = { listen: "127.0.0.1:0", interval: "1", "tls-cert": cert, "tls-key": key };
  const running = await startAgent(loadConfig({ flags, env: {} }), source, () => undefined);
  try {
    const port = running.address.port;
    const res = await fetch(`https://127.0.0.1:${port}/healthz`, { dispatcher } as RequestInit);
    assert.equal(res.status, 200);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    // Without the CA the agent's certificate is not trusted.
    await assert.rejects(fetch(`https://127.0.0.1:${port}/healthz`));
  } finally {
    await running.stop();
    await dispatcher.close();
  }
  await assert.rejects(
    startAgent(loadConfig({ flags: { ...flags, "tls-key": cert }, env: {} }), source, () => undefined),
    (e: unknown) => e instanceof ConfigError && e.key === "tlsKey" && /bad PEM private key/.test(e.message),
  );
  rmSync(dir, { recursive: true, force: true });
});

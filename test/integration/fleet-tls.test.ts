/**
 * TLS between agents and the server, end to end, with two test CAs (the lab's PKI code in a temp dir; no lab
 * domain is used, so no lab lock is needed):
 * - agents (startAgent on a fake libvirt source) push to an HTTPS server that requires client certificates
 *   (tlsClientCa): with a certificate from the server's CA the samples land in the server's store; without one,
 *   or with one from the other CA, the server answers 401 and the agent counts a non-retryable 4xx failure and
 *   drops the batch (a retry could not succeed before someone fixes the certificate; data pushed meanwhile
 *   goes on being refused the same way);
 * - the server's control calls reach an HTTPS agent whose certificate its agentCa signed; an agent with a
 *   certificate from the other CA is a 502 naming the TLS reason;
 * - the console WebSocket goes through the server to the HTTPS agent (wss) and back.
 */
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Hono } from "hono";
import { Agent as UndiciAgent } from "undici";
import { WebSocket } from "ws";
import { loadConfig } from "../../src/agent/config.ts";
import type { AuditLog } from "../../src/agent/control/audit.ts";
import { type RunningAgent, startAgent } from "../../src/agent/server.ts";
import { FakeSource } from "../../src/agent/testing/fake-source.ts";
import { loadStats } from "../../src/collectors/fixtures/load.ts";
import { ensureLabPki, type LabPki } from "../../src/lab/pki.ts";
import { TokenStore } from "../../src/server/auth/tokens.ts";
import { loadServerConfig } from "../../src/server/config.ts";
import { FleetState } from "../../src/server/fleet/state.ts";
import { writeRoutes } from "../../src/server/ingest/routes.ts";
import { type RunningServer, startServer } from "../../src/server/run.ts";
import { openStateDb } from "../../src/server/state-db.ts";
import { MemoryStore } from "../../src/server/storage/testing/memory-store.ts";
import { type ConsoleAgent, openAgentAudit, startConsoleAgent, upperConsole } from "../console-agent.ts";

const CONTROL_TOKEN = "kvmon-fleet-tls-it-control-token-0123";
let dir: string;
let pki: LabPki;
let other: LabPki;
let ca: string;
/** The test's own HTTPS client to the server (trusting the test CA). */
let client: UndiciAgent;
let server: RunningServer;
const store = new MemoryStore();
const consoleAgents: ConsoleAgent[] = [];
let audit: AuditLog;
const tokens = { operator: "", host: "" };

/** An agent's app with a console served over HTTPS with this PKI's server pair. */
async function httpsAgent(certs: LabPki): Promise<string> {
  const agent = await startConsoleAgent({
    controlToken: CONTROL_TOKEN,
    audit,
    openConsole: () => Promise.resolve(upperConsole()),
    tls: { cert: await readFile(certs.serverCert), key: await readFile(certs.serverKey) },
  });
  consoleAgents.push(agent);
  return agent.url;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-fleet-tls-"));
  pki = (await ensureLabPki(join(dir, "pki"), () => undefined)).pki;
  other = (await ensureLabPki(join(dir, "other"), () => undefined)).pki;
  ca = await readFile(pki.caCert, "utf8");
  client = new UndiciAgent({ connect: { ca } });
  audit = await openAgentAudit(join(dir, "agent-audit.log"));
  const db = openStateDb(join(dir, "server"));
  const ts = new TokenStore(db);
  ts.create("user", "ada", "admin");
  tokens.operator = ts.create("user", "otto", "operator").token;
  // The agent's series carry its hostname as `host`: the host token must name the same host.
  tokens.host = ts.create("host", hostname(), null).token;
  const fleet = new FleetState(db);
  fleet.register("h1", { url: await httpsAgent(pki), controlToken: CONTROL_TOKEN });
  fleet.register("h2", { url: await httpsAgent(other), controlToken: CONTROL_TOKEN });
  db.close();
  await writeFile(join(dir, "host.token"), tokens.host, { mode: 0o600 });
  await chmod(join(dir, "host.token"), 0o600);
  const flags = {
    listen: "127.0.0.1:0",
    "data-dir": join(dir, "server"),
    "tls-cert": pki.serverCert,
    "tls-key": pki.serverKey,
    "tls-client-ca": pki.caCert,
    "agent-ca": pki.caCert,
    "agent-timeout": "10",
  };
  server = await startServer(loadServerConfig({ flags }), {
    storeFactory: () => Promise.resolve(store),
    mounts: (s) => [
      {
        prefix: "",
        access: "host",
        summary: "remote_write",
        routes: writeRoutes({ store: s }) as unknown as Hono,
      },
    ],
  });
});

after(async () => {
  await server?.stop();
  for (const a of consoleAgents) await a.close();
  await audit?.close();
  await client?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A whole agent (fake libvirt) pushing every second to the server with these client files. */
async function pushingAgent(name: string, client: Record<string, string>): Promise<RunningAgent> {
  const source = new FakeSource();
  source.replyWith([loadStats("tcg-1.stats").record]);
  const file = JSON.stringify({
    listen: "127.0.0.1:0",
    interval: 1,
    push: [
      {
        url: server.url,
        kind: "kvmon",
        name,
        tokenFile: join(dir, "host.token"),
        intervalSeconds: 1,
        timeoutSeconds: 5,
        spoolDir: join(dir, `spool-${name}`),
        ...client,
      },
    ],
  });
  return startAgent(
    loadConfig({ file: "agent.json", readFile: () => file, env: {} }),
    source,
    () => undefined,
  );
}

/** The agent's push counter value for its target, from its own /metrics. */
async function pushCounter(a: RunningAgent, metric: string, reason?: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${a.address.port}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`${metric}{`) && (reason === undefined || l.includes(`reason="${reason}"`)));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test("an agent with a client certificate from the server's CA pushes over HTTPS; the samples are stored", async () => {
  const a = await pushingAgent("good", {
    caFile: pki.caCert,
    certFile: pki.clientCert,
    keyFile: pki.clientKey,
  });
  try {
    await until(
      "an acknowledged batch",
      async () => (await pushCounter(a, "kvmon_push_sent_batches_total")) > 0,
    );
    const range = { startMs: Date.now() - 600_000, endMs: Date.now() + 60_000 };
    const series = await store.select(
      [{ name: "__name__", op: "=", value: "kvmon_domain_state_code" }],
      range,
    );
    assert.ok(series.length > 0, "the pushed domain series are in the server's store");
    assert.equal(series[0]!.labels.domain, "kvmon-fixture-tcg");
    assert.equal(series[0]!.labels.host, hostname(), "the host label is the token's host");
    assert.equal(await pushCounter(a, "kvmon_push_dropped_batches_total", "rejected"), 0);
  } finally {
    await a.stop();
  }
});

for (const [label, client] of [
  ["without a client certificate", () => ({ caFile: pki.caCert })],
  [
    "with a client certificate from another CA",
    () => ({ caFile: pki.caCert, certFile: other.clientCert, keyFile: other.clientKey }),
  ],
] as const) {
  test(`an agent ${label} is refused (401): a non-retryable 4xx, the batch dropped`, async () => {
    const a = await pushingAgent(label.replaceAll(" ", "-"), client());
    try {
      await until(
        "a rejected batch",
        async () => (await pushCounter(a, "kvmon_push_dropped_batches_total", "rejected")) > 0,
      );
      assert.ok((await pushCounter(a, "kvmon_push_failures_total", "http_4xx")) > 0);
      assert.equal(await pushCounter(a, "kvmon_push_sent_batches_total"), 0);
    } finally {
      await a.stop();
    }
  });
}

test("an agent that does not trust the server's CA cannot connect: a retryable network failure, the batches kept in the spool", async () => {
  const a = await pushingAgent("untrusting", { certFile: pki.clientCert, keyFile: pki.clientKey });
  try {
    await until(
      "a network failure",
      async () => (await pushCounter(a, "kvmon_push_failures_total", "network")) > 0,
    );
    assert.equal(
      await pushCounter(a, "kvmon_push_dropped_batches_total", "rejected"),
      0,
      "kept in the spool",
    );
  } finally {
    await a.stop();
  }
});

async function control(
  host: string,
): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
  const res = await fetch(`${server.url}/api/v1/hosts/${host}/trace`, {
    headers: { authorization: `Bearer ${tokens.operator}` },
    dispatcher: client,
  } as RequestInit);
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
}

test("control calls reach an HTTPS agent signed by agentCa; another CA's agent is a 502 with the TLS reason", async () => {
  const ok = await control("h1");
  // The agent answered (it has no tracer here: its own 503), over HTTPS verified with agentCa.
  assert.equal(ok.status, 503);
  assert.equal(ok.body.error?.code, "TRACER_UNAVAILABLE");
  const bad = await control("h2");
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error?.code, "AGENT_UNREACHABLE");
  assert.match(bad.body.error!.message, /certificate/i);
});

test("the console WebSocket goes through the server to the HTTPS agent (wss) and back", async () => {
  const ws = new WebSocket(`${server.url.replace("https", "wss")}/api/v1/domains/h1/vm1/console`, {
    headers: { authorization: `Bearer ${tokens.operator}` },
    ca,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
  const received: string[] = [];
  ws.on("message", (d: Buffer) => received.push(d.toString()));
  ws.send(Buffer.from("hello\n"));
  await until("the echo", () => Promise.resolve(received.join("") === "HELLO\n"), 5000);
  ws.close();
});

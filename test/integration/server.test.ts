/**
 * The fleet server end to end on the lab: a real agent (qemu:///system, control token, audit log) whose
 * snapshots the test pushes to a real server (the push sender is another branch's), started on an ephemeral
 * port with a temp data dir. /api/v1/domains equals the agent's own view of the same snapshot; a trace on the
 * KVM guest is started, read and stopped through the server, and both audit logs record it; a restart keeps
 * tokens, audit log and the last snapshot. TLS with a test CA (the lab's PKI code in a temp dir): HTTPS, and
 * host routes that need a client certificate from agents.
 */
import assert from "node:assert/strict";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { RunningAgent } from "../../src/agent/server.ts";
import { ensureLabPki } from "../../src/lab/pki.ts";
import type { Snapshot } from "../../src/model/types.ts";
import { TokenStore } from "../../src/server/auth/tokens.ts";
import { loadServerConfig } from "../../src/server/config.ts";
import { FleetState } from "../../src/server/fleet/state.ts";
import { type RunningServer, startServer } from "../../src/server/run.ts";
import { openStateDb } from "../../src/server/state-db.ts";
import { MemoryStore } from "../../src/server/storage/testing/memory-store.ts";
import { withTimeout } from "../../src/shared/errors.ts";
import { startControlAgent } from "../agent-helpers.ts";
import { kvmSkipReason, labGuests, withKvmGuest } from "../lab.ts";

const CONTROL_TOKEN = "kvmon-server-it-control-token-0123456789";
const HOST = "lab-host";
let dir: string;
let agent: { running: RunningAgent; base: string };
let server: RunningServer;
const tokens = { admin: "", operator: "", viewer: "", host: "" };

function serverConfig(extra: Record<string, string> = {}) {
  return loadServerConfig({
    flags: { listen: "127.0.0.1:0", "data-dir": join(dir, "server"), "agent-timeout": "60", ...extra },
  });
}

async function api<T>(
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Pushes the agent's current snapshot as its push sender would, and returns it. */
async function pushSnapshot(): Promise<Snapshot> {
  const snap = agent.running.agent.snapshot();
  assert.ok(snap, "the agent has collected");
  const r = await api("POST", "/api/v1/push/snapshot", tokens.host, snap);
  assert.equal(r.status, 204, JSON.stringify(r.body));
  return snap;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-server-it-"));
  agent = await startControlAgent(dir, CONTROL_TOKEN, { passthrough: true });
  const db = openStateDb(join(dir, "server"));
  const store = new TokenStore(db);
  tokens.admin = store.create("user", "ada", "admin").token;
  tokens.operator = store.create("user", "otto", "operator").token;
  tokens.viewer = store.create("user", "vera", "viewer").token;
  tokens.host = store.create("host", HOST, null).token;
  new FleetState(db).register(HOST, { url: agent.base, controlToken: CONTROL_TOKEN });
  db.close();
  server = await startServer(serverConfig(), { storeFactory: () => Promise.resolve(new MemoryStore()) });
  for (let i = 0; i < 50 && !agent.running.agent.snapshot(); i++)
    await new Promise((r) => setTimeout(r, 200));
});

after(async () => {
  // Bounded: a stop that hangs (a tracer instance the kernel is slow to remove) must not hold the lab lock.
  const bounded = (what: string, p: Promise<unknown> | undefined) =>
    withTimeout(p ?? Promise.resolve(), 60_000, what).catch((e: unknown) =>
      process.stderr.write(`${String(e)}\n`),
    );
  await bounded("server stop", server?.stop());
  await bounded("agent stop", agent?.running.stop());
  await rm(dir, { recursive: true, force: true });
});

test("/api/v1/domains equals the agent's own view of the pushed snapshot", async () => {
  for (let attempt = 0; ; attempt++) {
    const snap = await pushSnapshot();
    const own = (await (await fetch(`${agent.base}/api/v1/domains`)).json()) as {
      collectedAt: number;
      domains: unknown[];
    };
    if (own.collectedAt !== snap.finishedAt && attempt < 5) continue; // a collection ran in between
    assert.equal(own.collectedAt, snap.finishedAt);
    const r = await api<{ total: number; domains: Array<Record<string, unknown>> }>(
      "GET",
      "/api/v1/domains?limit=1000",
      tokens.viewer,
    );
    assert.equal(r.status, 200);
    assert.ok(r.body.total >= 2, `${r.body.total} domains`);
    assert.deepEqual(
      r.body.domains.map(({ host, ...d }) => {
        assert.equal(host, HOST);
        return d;
      }),
      own.domains,
    );
    const hosts = await api<{
      hosts: Array<{
        name: string;
        agentUp: boolean;
        libvirtReachable: boolean;
        domains: number;
        cpuUsageRatio: number | null;
        memoryUsedBytes: number | null;
        memoryTotalBytes: number | null;
      }>;
    }>("GET", "/api/v1/hosts", tokens.viewer);
    assert.deepEqual(
      hosts.body.hosts.map((h) => [h.name, h.agentUp, h.libvirtReachable, h.domains]),
      [[HOST, true, true, own.domains.length]],
    );
    // Host CPU and memory: the pushed snapshot's (the agent's host-usage collector), the total this host's own.
    const [h] = hosts.body.hosts;
    const usage = snap.host.usage!;
    assert.equal(h!.cpuUsageRatio, usage.cpuRatio);
    assert.equal(h!.memoryUsedBytes, usage.memory!.usedBytes);
    const memTotalKiB = Number(/^MemTotal:\s+(\d+) kB$/m.exec(await readFile("/proc/meminfo", "utf8"))![1]);
    assert.equal(h!.memoryTotalBytes, memTotalKiB * 1024);
    return;
  }
});

test(
  "a trace on the KVM guest through the server: on, counts, off; the agent's audit log and the server's record it",
  { skip: await kvmSkipReason() },
  async () => {
    await withKvmGuest(async (domain) => {
      const on = await api<{ on: boolean; domains: Array<{ domain: string }> }>(
        "POST",
        `/api/v1/domains/${HOST}/${domain}/trace`,
        tokens.operator,
        { durationSeconds: 60 },
      );
      assert.equal(on.status, 200, JSON.stringify(on.body));
      assert.ok(on.body.on && on.body.domains.some((d) => d.domain === domain));
      const denied = await api("POST", `/api/v1/domains/${HOST}/${domain}/trace`, tokens.viewer, {
        durationSeconds: 60,
      });
      assert.equal(denied.status, 403);
      let counts: { status: number; body: { total?: number } } = { status: 0, body: {} };
      for (let i = 0; i < 40; i++) {
        counts = await api<{ total?: number }>(
          "GET",
          `/api/v1/domains/${HOST}/${domain}/trace/counts`,
          tokens.viewer,
        );
        if (counts.status === 200 && (counts.body.total ?? 0) > 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(counts.status, 200, JSON.stringify(counts.body));
      const events = await api<{ events: unknown[] }>(
        "GET",
        `/api/v1/domains/${HOST}/${domain}/trace/events?limit=5`,
        tokens.viewer,
      );
      assert.equal(events.status, 200);
      assert.ok(events.body.events.length > 0);
      const off = await api("DELETE", `/api/v1/domains/${HOST}/${domain}/trace`, tokens.operator);
      assert.equal(off.status, 200, JSON.stringify(off.body));

      const agentAudit = (await readFile(join(dir, "agent-audit.log"), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const agentOn = agentAudit.filter((r) => r.action === "trace-on" && r.guest === domain);
      assert.equal(agentOn.length, 1, JSON.stringify(agentAudit));
      assert.equal(agentOn[0]!.outcome, "ok");
      assert.ok(agentAudit.some((r) => r.action === "trace-off" && r.guest === domain && r.outcome === "ok"));
      const mine = await api<{
        records: Array<{
          who: string;
          action: string;
          host: string;
          domain: string;
          outcome: string;
          status: number;
        }>;
      }>("GET", `/api/v1/audit?domain=${domain}`, tokens.admin);
      assert.deepEqual(
        mine.body.records.map((r) => [r.who, r.action, r.host, r.outcome, r.status]),
        [
          ["otto", "trace-off", HOST, "ok", 200],
          ["vera", "trace-on", HOST, "denied", 403],
          ["otto", "trace-on", HOST, "ok", 200],
        ],
      );
    });
  },
);

test("guest commands through the server: exec with its exit code and output, a passthrough command, audited", async () => {
  const guest = labGuests[0]!;
  const exec = await api<{ exitCode: number; stdout: { text: string }; stderr: { text: string } }>(
    "POST",
    `/api/v1/domains/${HOST}/${guest}/exec`,
    tokens.operator,
    { path: "/bin/sh", args: ["-c", "echo to-out; echo to-err >&2; exit 3"] },
  );
  assert.equal(exec.status, 200, JSON.stringify(exec.body));
  assert.deepEqual(
    [exec.body.exitCode, exec.body.stdout.text, exec.body.stderr.text],
    [3, "to-out\n", "to-err\n"],
  );
  const ping = await api("POST", `/api/v1/domains/${HOST}/${guest}/agent-command`, tokens.operator, {
    execute: "guest-ping",
  });
  assert.deepEqual([ping.status, ping.body], [200, { return: {} }]);
  const refused = await api("POST", `/api/v1/domains/${HOST}/${guest}/exec`, tokens.viewer, {
    path: "/bin/true",
  });
  assert.equal(refused.status, 403);
  const missing = await api<{ error: { code: string } }>(
    "POST",
    `/api/v1/domains/${HOST}/no-such-guest/exec`,
    tokens.operator,
    {
      path: "/bin/true",
    },
  );
  assert.equal(missing.body.error.code, "LIBVIRT_NO_DOMAIN", JSON.stringify(missing.body));
  const audit = await api<{
    records: Array<{
      who: string;
      action: string;
      domain: string;
      outcome: string;
      code: string | null;
      what: Record<string, unknown>;
    }>;
  }>("GET", "/api/v1/audit?limit=4", tokens.admin);
  assert.deepEqual(
    audit.body.records.map((r) => [r.who, r.action, r.domain, r.outcome, r.code]),
    [
      ["otto", "exec", "no-such-guest", "error", "LIBVIRT_NO_DOMAIN"],
      ["vera", "exec", guest, "denied", "FORBIDDEN"],
      ["otto", "agent-command", guest, "ok", null],
      ["otto", "exec", guest, "ok", null],
    ],
  );
  assert.equal(audit.body.records[3]!.what.path, "/bin/sh");
});

test("a restart keeps tokens, the audit log and the last snapshot", async () => {
  const snap = await pushSnapshot();
  const auditBefore = await api<{ records: unknown[] }>("GET", "/api/v1/audit?limit=1000", tokens.admin);
  await server.stop();
  server = await startServer(serverConfig(), { storeFactory: () => Promise.resolve(new MemoryStore()) });
  const auditAfter = await api<{ records: unknown[] }>("GET", "/api/v1/audit?limit=1000", tokens.admin);
  assert.deepEqual(auditAfter.body.records, auditBefore.body.records);
  const hosts = await api<{ hosts: Array<{ name: string; collectedAt: number; domains: number }> }>(
    "GET",
    "/api/v1/hosts",
    tokens.viewer,
  );
  assert.deepEqual(
    hosts.body.hosts.map((h) => [h.name, h.collectedAt, h.domains]),
    [[HOST, snap.finishedAt, snap.domains.length]],
  );
});

/** An HTTPS request with the test CA (and a client certificate when given). */
function https(
  url: string,
  opts: { ca: Buffer; cert?: Buffer; key?: Buffer; token?: string; body?: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.body === undefined ? "GET" : "POST",
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

test("TLS with a test CA: HTTPS only, and agents' pushes need a client certificate signed by the client CA", async () => {
  const { pki } = await ensureLabPki(join(dir, "tls"), () => {});
  const tls = await startServer(
    serverConfig({ "tls-cert": pki.serverCert, "tls-key": pki.serverKey, "tls-client-ca": pki.caCert }),
    { storeFactory: () => Promise.resolve(new MemoryStore()) },
  );
  try {
    assert.match(tls.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = await readFile(pki.caCert);
    const [cert, key] = [await readFile(pki.clientCert), await readFile(pki.clientKey)];
    assert.equal(await https(`${tls.url}/healthz`, { ca }), 200);
    assert.equal(await https(`${tls.url}/api/v1/hosts`, { ca, token: tokens.viewer }), 200);
    await assert.rejects(
      https(`${tls.url}/healthz`, { ca: Buffer.from("") }),
      /self-signed|unable to verify|certificate/i,
    );
    await assert.rejects(fetch(tls.url.replace("https", "http") + "/healthz"));
    const events = JSON.stringify([]);
    assert.equal(await https(`${tls.url}/api/v1/push/events`, { ca, token: tokens.host, body: events }), 401);
    assert.equal(
      await https(`${tls.url}/api/v1/push/events`, { ca, cert, key, token: tokens.host, body: events }),
      204,
    );
  } finally {
    await tls.stop();
  }
});

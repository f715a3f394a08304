/**
 * The console WebSocket through both hops: client -> server (operator token) -> agent (control token) -> the
 * agent's console stream. libvirt's DOMAIN_OPEN_CONSOLE stream is wired into the agent at merge (another
 * branch adds the client call), so the agent here gets a console stream that answers each line in upper case:
 * bytes typed into the server's socket reach the console and its output comes back; refusals (a viewer token, a
 * domain the agent has no console for) are HTTP errors with the agent's code; both audit logs record the calls.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { WebSocket } from "ws";
import type { AuditLog } from "../../src/agent/control/audit.ts";
import { HttpError } from "../../src/agent/errors.ts";
import { TokenStore } from "../../src/server/auth/tokens.ts";
import { loadServerConfig } from "../../src/server/config.ts";
import { FleetState } from "../../src/server/fleet/state.ts";
import { type RunningServer, startServer } from "../../src/server/run.ts";
import { openStateDb } from "../../src/server/state-db.ts";
import { MemoryStore } from "../../src/server/storage/testing/memory-store.ts";
import { type ConsoleAgent, openAgentAudit, startConsoleAgent, upperConsole } from "../console-agent.ts";

const CONTROL_TOKEN = "kvmon-console-it-control-token-0123";
let dir: string;
let agent: ConsoleAgent;
let audit: AuditLog;
let server: RunningServer;
const tokens = { operator: "", viewer: "", admin: "" };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-console-it-"));
  audit = await openAgentAudit(join(dir, "agent-audit.log"));
  agent = await startConsoleAgent({
    controlToken: CONTROL_TOKEN,
    audit,
    openConsole: (name) =>
      name === "vm1"
        ? Promise.resolve(upperConsole("bye"))
        : Promise.reject(new HttpError(404, "LIBVIRT_NO_DOMAIN", `no domain '${name}'`)),
  });

  const db = openStateDb(join(dir, "server"));
  const store = new TokenStore(db);
  tokens.admin = store.create("user", "ada", "admin").token;
  tokens.operator = store.create("user", "otto", "operator").token;
  tokens.viewer = store.create("user", "vera", "viewer").token;
  new FleetState(db).register("h1", { url: agent.url, controlToken: CONTROL_TOKEN });
  db.close();
  server = await startServer(
    loadServerConfig({ flags: { listen: "127.0.0.1:0", "data-dir": join(dir, "server") } }),
    { storeFactory: () => Promise.resolve(new MemoryStore()) },
  );
});

after(async () => {
  await server?.stop();
  await agent?.close();
  await audit?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Opens the server's console socket; resolves with it, or rejects with the HTTP status of the refusal. */
function openConsole(domain: string, token: string): Promise<WebSocket> {
  const ws = new WebSocket(`${server.url.replace("http", "ws")}/api/v1/domains/h1/${domain}/console`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

test("bytes typed into the server's console socket reach the domain's console, and its output comes back", async () => {
  const ws = await openConsole("vm1", tokens.operator);
  const received: string[] = [];
  const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
  ws.on("message", (d: Buffer) => received.push(d.toString()));
  ws.send(Buffer.from("hello\n"));
  for (let i = 0; i < 50 && received.join("") !== "HELLO\n"; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(received.join(""), "HELLO\n");
  ws.send("bye\n");
  assert.equal(await closed, 1000, "the console closing closes both sockets");
  assert.equal(received.join(""), "HELLO\nBYE\n");
});

test("refusals are HTTP errors: a viewer (403), a domain without a console (the agent's 404)", async () => {
  await assert.rejects(openConsole("vm1", tokens.viewer), /HTTP 403/);
  await assert.rejects(openConsole("nope", tokens.operator), /HTTP 404/);
  await assert.rejects(openConsole("vm1", "kvmon_wrong"), /HTTP 401/);
});

test("the server's audit log and the agent's record each console call", async () => {
  const res = await fetch(`${server.url}/api/v1/audit?action=console`, {
    headers: { authorization: `Bearer ${tokens.admin}` },
  });
  const { records } = (await res.json()) as {
    records: Array<{ who: string; domain: string; outcome: string; status: number; code: string | null }>;
  };
  assert.deepEqual(
    records.map((r) => [r.who, r.domain, r.outcome, r.status, r.code]),
    [
      ["anonymous", "vm1", "denied", 401, "UNAUTHENTICATED"],
      ["otto", "nope", "error", 404, "AGENT_REFUSED"],
      ["vera", "vm1", "denied", 403, "FORBIDDEN"],
      ["otto", "vm1", "ok", 101, null],
    ],
  );
  const agentLog = (await readFile(join(dir, "agent-audit.log"), "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { action: string; guest: string; outcome: string });
  assert.deepEqual(
    agentLog.map((r) => [r.action, r.guest, r.outcome]),
    [
      ["console", "vm1", "ok"],
      ["console", "nope", "error"],
    ],
  );
});

/** A ticket for the domain's console (POST .../console/ticket as the operator). */
async function ticket(domain: string): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/domains/h1/${domain}/console/ticket`, {
    method: "POST",
    headers: { authorization: `Bearer ${tokens.operator}` },
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { ticket: string }).ticket;
}

/** A browser's socket: no headers, the ticket in the URL; resolves with the socket once open. */
function openTicketed(domain: string, t: string): Promise<WebSocket> {
  const ws = new WebSocket(
    `${server.url.replace("http", "ws")}/api/v1/domains/h1/${domain}/console?ticket=${t}`,
  );
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

test("a ticket opens the console without a header, once; the audit log names its operator", async () => {
  const t = await ticket("vm1");
  const ws = await openTicketed("vm1", t);
  const received: string[] = [];
  ws.on("message", (d: Buffer) => received.push(d.toString()));
  const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
  ws.send(Buffer.from("bye\n"));
  assert.equal(await closed, 1000);
  assert.equal(received.join(""), "BYE\n");
  await assert.rejects(openTicketed("vm1", t), /HTTP 401/, "a ticket is good for one use");
  const res = await fetch(`${server.url}/api/v1/audit?action=console&limit=2`, {
    headers: { authorization: `Bearer ${tokens.admin}` },
  });
  const { records } = (await res.json()) as {
    records: Array<{ who: string; outcome: string; status: number; what: object }>;
  };
  assert.deepEqual(
    records.map((r) => [r.who, r.outcome, r.status]),
    [
      ["anonymous", "denied", 401],
      ["otto", "ok", 101],
    ],
  );
  assert.deepEqual(records[1]!.what, { ticket: true });
});

test("with a ticket, a console that cannot be opened closes at once with 4000 + status and the reason", async () => {
  const ws = await openTicketed("nope", await ticket("nope"));
  const [code, reason] = await new Promise<[number, string]>((r) =>
    ws.once("close", (c, why) => r([c, why.toString()])),
  );
  assert.equal(code, 4404);
  assert.match(reason, /^AGENT_REFUSED: host h1's agent refused the console: 404/);
  const res = await fetch(`${server.url}/api/v1/audit?action=console&limit=1`, {
    headers: { authorization: `Bearer ${tokens.admin}` },
  });
  const [rec] = ((await res.json()) as { records: Array<Record<string, unknown>> }).records;
  assert.deepEqual(
    [rec!.who, rec!.domain, rec!.outcome, rec!.status, rec!.code],
    ["otto", "nope", "error", 404, "AGENT_REFUSED"],
  );
});

/**
 * The agent's console WebSocket against a real guest: GET /api/v1/domains/{name}/console upgrades, bridges to
 * libvirt's DOMAIN_OPEN_CONSOLE stream of kvmon-lab-1 (a shell on ttyS0), a typed command's output comes back,
 * the session is audited, and a request without the token is refused before any upgrade.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { WebSocket } from "ws";
import { loadConfig } from "../../src/agent/config.ts";
import type { AuditRecord } from "../../src/agent/control/audit.ts";
import type { RunningAgent } from "../../src/agent/server.ts";
import { startTestAgent, SYSTEM_URI } from "../agent-helpers.ts";
import { labGuests } from "../lab.ts";

const guest = labGuests[0]!;
const TOKEN = "kvmon-console-test-token-0123456789";
let dir: string;
let running: RunningAgent;
let base: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-console-it-"));
  const config = loadConfig({
    flags: { listen: "127.0.0.1:0", interval: "10", "audit-log": join(dir, "audit.log") },
    env: { KVMON_URI: SYSTEM_URI, KVMON_CONTROL_TOKEN: TOKEN, KVMON_GUEST: "true", KVMON_GUEST_EXEC: "true" },
  });
  ({ running, base } = await startTestAgent(config));
});

after(async () => {
  await running?.stop();
  await rm(dir, { recursive: true, force: true });
});

function connect(token: string | null): WebSocket {
  return new WebSocket(`${base.replace("http", "ws")}/api/v1/domains/${guest}/console`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
}

test("a typed command's output comes back through the console WebSocket, and the session is audited", async () => {
  const ws = connect(TOKEN);
  let screen = "";
  ws.on("message", (data: Buffer) => (screen += data.toString("latin1")));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const deadline = Date.now() + 30_000;
  // The shell may be mid-line or echo slowly: send again until its answer shows.
  while (!screen.includes("kvmon-42") && Date.now() < deadline) {
    ws.send(Buffer.from("echo kvmon-$((6*7))\r"));
    await new Promise((r) => setTimeout(r, 1000));
  }
  ws.close();
  assert.match(screen, /kvmon-42/, `console output was: ${JSON.stringify(screen.slice(-400))}`);
  const records = (await readFile(join(dir, "audit.log"), "utf8"))
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);
  const session = records.find((r) => r.action === "console");
  assert.ok(session, JSON.stringify(records));
  assert.equal(session.guest, guest);
});

test("without the token the upgrade is refused with 401", async () => {
  const ws = connect(null);
  const status = await new Promise<number>((resolve) => {
    ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.once("open", () => resolve(101));
    ws.once("error", () => undefined);
  });
  ws.terminate();
  assert.equal(status, 401);
});

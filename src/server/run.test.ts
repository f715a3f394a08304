/**
 * A whole server on an ephemeral port (startServer): slow clients are cut off at the header deadline, a
 * body larger than the limit is refused, and a server without an admin token does not start.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { TokenStore } from "./auth/tokens.ts";
import { loadServerConfig, ServerConfigError } from "./config.ts";
import { NoAdminTokenError, type RunningServer, startServer } from "./run.ts";
import { openStateDb } from "./state-db.ts";
import { MemoryStore } from "./storage/testing/memory-store.ts";

const dir = mkdtempSync(join(tmpdir(), "kvmon-server-run-"));
const config = (extra: Record<string, string> = {}) =>
  loadServerConfig({
    flags: {
      listen: "127.0.0.1:0",
      "data-dir": dir,
      "headers-timeout": "1",
      "max-body-bytes": "4096",
      ...extra,
    },
  });
const memory = { storeFactory: () => Promise.resolve(new MemoryStore()) };
let server: RunningServer;
let host = "";

before(async () => {
  await assert.rejects(startServer(config(), memory), NoAdminTokenError);
  const db = openStateDb(dir);
  const tokens = new TokenStore(db);
  tokens.create("user", "ada", "admin");
  host = tokens.create("host", "h1", null).token;
  db.close();
  server = await startServer(config(), memory);
});

after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("a client that never finishes its headers is answered 408 and cut off within the deadline", async () => {
  const started = performance.now();
  const socket = connect(server.address.port, "127.0.0.1");
  socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  let answer = "";
  socket.on("data", (d) => (answer += d.toString()));
  await new Promise<void>((resolve) => socket.on("close", () => resolve()));
  const seconds = (performance.now() - started) / 1000;
  assert.match(answer, /^HTTP\/1\.1 408/);
  assert.ok(seconds >= 0.9 && seconds < 5, `${seconds} s`);
});

test("a body over the limit is refused with 413, one without a length too", async () => {
  const big = JSON.stringify([
    { time: 1, domain: "x".repeat(5000), uuid: null, type: "started", detail: null },
  ]);
  const res = await fetch(`${server.url}/api/v1/push/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${host}`, "content-type": "application/json" },
    body: big,
  });
  assert.equal(res.status, 413);
  const chunked = await fetch(`${server.url}/api/v1/push/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${host}`, "content-type": "application/json" },
    body: new Blob([big]).stream(),
    duplex: "half",
  } as RequestInit);
  assert.equal(chunked.status, 413);
  const ok = await fetch(`${server.url}/healthz`);
  assert.equal(ok.status, 200, "the server still answers");
});

test("an agentCa that is not a PEM certificate stops the start with a config error naming agentCa", async () => {
  const junk = join(dir, "junk-ca.pem");
  writeFileSync(junk, "not a certificate\n");
  await assert.rejects(
    startServer(config({ listen: "127.0.0.1:0", "agent-ca": junk }), memory),
    (e: unknown) =>
      e instanceof ServerConfigError && e.key === "agentCa" && /no PEM certificate/.test(e.message),
  );
});

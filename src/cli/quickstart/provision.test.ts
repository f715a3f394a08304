/**
 * The quick start's set-up on a temp data root: secrets in 0600 files under a 0700 dir, tokens that authenticate
 * with their role, the agent registered for control, an agent config the agent accepts; a second run reuses
 * every token; a lost token file gets a new token and the old one is revoked.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadConfig } from "../../agent/config.ts";
import { AuditStore } from "../../server/auth/audit.ts";
import { TokenStore } from "../../server/auth/tokens.ts";
import { FleetState } from "../../server/fleet/state.ts";
import { openStateDb } from "../../server/state-db.ts";
import { ADMIN_NAME, provision, quickstartPaths } from "./provision.ts";

const root = mkdtempSync(join(tmpdir(), "kvmon-quickstart-"));
after(() => rmSync(root, { recursive: true, force: true }));
const paths = quickstartPaths(root);
const options = {
  paths,
  host: "hv1",
  agentListen: "127.0.0.1:19477",
  agentUrl: "http://127.0.0.1:19477",
  serverUrl: "http://127.0.0.1:19478",
  intervalSeconds: 2,
};

const read = (f: string) => readFileSync(f, "utf8").trim();
const mode = (f: string) => statSync(f).mode & 0o777;

function withDb<T>(fn: (tokens: TokenStore, fleet: FleetState, audit: AuditStore) => T): T {
  const db = openStateDb(paths.serverDir);
  try {
    return fn(new TokenStore(db), new FleetState(db), new AuditStore(db));
  } finally {
    db.close();
  }
}

test("the first run makes the tokens in 0600 files, registers the agent and writes a valid agent config", () => {
  const r = provision(options);
  assert.equal(r.adminCreated, true);
  assert.equal(read(paths.adminToken), r.adminToken);
  assert.equal(mode(paths.dir), 0o700);
  for (const f of [paths.adminToken, paths.hostToken, paths.controlToken, paths.agentConfig])
    assert.equal(mode(f), 0o600, f);
  assert.deepEqual(
    withDb((t) => [t.verify(r.adminToken), t.verify(read(paths.hostToken))]),
    [
      { kind: "user", name: ADMIN_NAME, role: "admin" },
      { kind: "host", host: "hv1" },
    ],
  );
  assert.deepEqual(
    withDb((_, f) => f.host("hv1")?.agent),
    { url: "http://127.0.0.1:19477", controlToken: read(paths.controlToken) },
  );
  const c = loadConfig({ file: paths.agentConfig, env: {} });
  assert.equal(c.listenPort, 19477);
  assert.deepEqual(c.identity.hostname, "hv1");
  assert.equal(c.control.guestExec, true);
  assert.equal(c.control.auditLog, join(root, "agent", "audit.log"));
  assert.deepEqual(
    c.push.map((p) => [p.url, p.kind, p.tokenFile, p.spoolDir]),
    [["http://127.0.0.1:19478", "kvmon", paths.hostToken, join(root, "spool", "quickstart")]],
  );
  assert.ok(
    withDb((_, __, a) => a.query({ limit: 10 }).records.some((x) => x.action === "token-create")),
    "the token's creation is audited",
  );
});

test("a second run reuses every token and takes the agent's new address", () => {
  const before = [paths.adminToken, paths.hostToken, paths.controlToken].map(read);
  const r = provision({ ...options, agentUrl: "http://127.0.0.1:29477" });
  assert.equal(r.adminCreated, false);
  assert.deepEqual([paths.adminToken, paths.hostToken, paths.controlToken].map(read), before);
  assert.equal(
    withDb((_, f) => f.host("hv1")?.agent?.url),
    "http://127.0.0.1:29477",
  );
  assert.equal(
    withDb((t) => t.list().filter((x) => x.revokedAt === null).length),
    2,
  );
});

test("a lost admin token file gets a new token; the old one is revoked", () => {
  const old = read(paths.adminToken);
  rmSync(paths.adminToken);
  const r = provision(options);
  assert.equal(r.adminCreated, true);
  assert.notEqual(r.adminToken, old);
  assert.equal(
    withDb((t) => t.verify(old)),
    null,
  );
  assert.equal(
    withDb((t) => t.verify(r.adminToken)?.kind),
    "user",
  );
});

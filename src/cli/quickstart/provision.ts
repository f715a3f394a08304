/**
 * What `kvmon quickstart` sets up before it starts anything, in one data root laid out like a real install
 * (docs/server.md): the server's data dir (`server/`), the agent's audit log (`agent/audit.log`) and push spool
 * (`spool/`), and `quickstart/` (0700) with the secrets (0600 files) and the agent's config. Idempotent: a second
 * run reuses the admin, host and control tokens it finds in their files, re-registers the agent's address, and
 * makes a token anew only when its file is missing or no longer valid (the old one is revoked).
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { AuditStore } from "../../server/auth/audit.ts";
import { TokenStore } from "../../server/auth/tokens.ts";
import type { Role } from "../../server/auth/types.ts";
import { FleetState } from "../../server/fleet/state.ts";
import { openStateDb } from "../../server/state-db.ts";
import { auditCli } from "../commands/server.ts";

/** The admin user the quick start makes: the dashboard's login token. */
export const ADMIN_NAME = "quickstart-admin";

export interface QuickstartPaths {
  root: string;
  serverDir: string;
  dir: string;
  adminToken: string;
  hostToken: string;
  controlToken: string;
  agentConfig: string;
  serverLog: string;
  agentLog: string;
}

export function quickstartPaths(root: string): QuickstartPaths {
  const dir = join(root, "quickstart");
  return {
    root,
    serverDir: join(root, "server"),
    dir,
    adminToken: join(dir, "admin.token"),
    hostToken: join(dir, "host.token"),
    controlToken: join(dir, "control.token"),
    agentConfig: join(dir, "agent.json"),
    serverLog: join(dir, "server.log"),
    agentLog: join(dir, "agent.log"),
  };
}

export interface ProvisionOptions {
  paths: QuickstartPaths;
  /** The agent's host name: its host token's name and the `host` label of what it pushes. */
  host: string;
  agentListen: string;
  /** Where the server reaches the agent (control calls) and the agent the server (push). */
  agentUrl: string;
  serverUrl: string;
  intervalSeconds: number;
}

export interface Provisioned {
  adminToken: string;
  /** Whether the admin token was made by this run (else reused from its file). */
  adminCreated: boolean;
}

/** A secret file's content, or null when it is missing; made 0600 whatever it was. */
function readSecret(path: string): string | null {
  if (!existsSync(path)) return null;
  chmodSync(path, 0o600);
  return readFileSync(path, "utf8").trim() || null;
}

function writeSecret(path: string, secret: string): void {
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // writeFileSync keeps an existing file's mode
}

/**
 * The token in `file` when it is still live for (kind, name) (and the role); else a new one, written to `file`,
 * after revoking the live token of that name that nobody holds any more.
 */
function ensureToken(
  db: DatabaseSync,
  file: string,
  kind: "user" | "host",
  name: string,
  role: Role | null,
): { token: string; created: boolean } {
  const tokens = new TokenStore(db);
  const kept = readSecret(file);
  const p = kept === null ? null : tokens.verify(kept);
  const matches =
    p !== null &&
    (p.kind === "host" ? kind === "host" && p.host === name : p.name === name && p.role === role);
  if (kept !== null && matches) return { token: kept, created: false };
  const audit = new AuditStore(db);
  const stale = tokens.list().find((t) => t.kind === kind && t.name === name && t.revokedAt === null);
  const host = kind === "host" ? name : null;
  if (stale) {
    tokens.revoke(stale.id);
    auditCli(audit, "token-revoke", { host, what: { id: stale.id, name, by: "quickstart" } });
  }
  const { token, info } = tokens.create(kind, name, role);
  auditCli(audit, kind === "host" ? "host-add" : "token-create", {
    host,
    what: { id: info.id, name, role, by: "quickstart" },
  });
  writeSecret(file, token);
  return { token, created: true };
}

export function provision(o: ProvisionOptions): Provisioned {
  const { paths } = o;
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  chmodSync(paths.dir, 0o700);
  if (readSecret(paths.controlToken) === null)
    writeSecret(paths.controlToken, randomBytes(32).toString("hex"));
  const controlToken = readSecret(paths.controlToken)!;
  const db = openStateDb(paths.serverDir);
  let admin: { token: string; created: boolean };
  try {
    admin = ensureToken(db, paths.adminToken, "user", ADMIN_NAME, "admin");
    ensureToken(db, paths.hostToken, "host", o.host, null);
    new FleetState(db).register(o.host, { url: o.agentUrl, controlToken });
  } finally {
    db.close();
  }
  const agentConfig = {
    listen: o.agentListen,
    interval: o.intervalSeconds,
    hostName: o.host,
    guest: true,
    guestExec: true,
    controlTokenFile: paths.controlToken,
    auditLog: join(paths.root, "agent", "audit.log"),
    push: [
      {
        name: "quickstart",
        url: o.serverUrl,
        kind: "kvmon",
        tokenFile: paths.hostToken,
        spoolDir: join(paths.root, "spool", "quickstart"),
      },
    ],
  };
  writeSecret(paths.agentConfig, JSON.stringify(agentConfig, null, 2));
  return { adminToken: admin.token, adminCreated: admin.created };
}

/**
 * A server app for unit tests: a state database in a temp dir, one token of each role and a host token, the
 * in-memory sample store, and `call()` to send a request with a token. `reopen()` opens the same data dir
 * again, as a restart does.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hono } from "hono";
import type { Snapshot } from "../../model/types.ts";
import { createServerApp, type Mount } from "../app.ts";
import type { RouteSpec } from "../api/route.ts";
import { AuditStore } from "../auth/audit.ts";
import { TokenStore } from "../auth/tokens.ts";
import { FleetState } from "../fleet/state.ts";
import type { ServerMetrics } from "../metrics.ts";
import { openStateDb } from "../state-db.ts";
import { MemoryStore } from "../storage/testing/memory-store.ts";

export const LIMITS = {
  maxBodyBytes: 64 * 1024,
  headersTimeoutMs: 1000,
  requestTimeoutMs: 5000,
  agentTimeoutMs: 1000,
};

/** The model's golden snapshot (four domains on host `agent-host`). */
export function goldenSnapshot(): Snapshot {
  const url = new URL("../../model/testdata/snapshot.golden.json", import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as Snapshot;
}

export interface Fixture {
  dir: string;
  app: Hono;
  routes: RouteSpec[];
  db: DatabaseSync;
  fleet: FleetState;
  audit: AuditStore;
  store: MemoryStore;
  tokens: { viewer: string; operator: string; admin: string; host: string };
  call(
    method: string,
    path: string,
    opts?: { token?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  reopen(): Fixture;
  close(): void;
}

function build(
  dir: string,
  tokens: Fixture["tokens"] | null,
  mounts: readonly Mount[],
  now: () => number,
  metrics: ServerMetrics | undefined,
): Fixture {
  const db = openStateDb(dir);
  const store = new TokenStore(db);
  const made = tokens ?? {
    viewer: store.create("user", "vera", "viewer").token,
    operator: store.create("user", "otto", "operator").token,
    admin: store.create("user", "ada", "admin").token,
    host: store.create("host", "h1", null).token,
  };
  const fleet = new FleetState(db);
  const audit = new AuditStore(db);
  const samples = new MemoryStore();
  const { app, routes } = createServerApp({
    tokens: store,
    audit,
    fleet,
    store: samples,
    limits: LIMITS,
    pushIntervalMs: 10_000,
    mounts,
    now,
    ...(metrics ? { metrics } : {}),
  });
  const f: Fixture = {
    dir,
    app: app as unknown as Hono,
    routes,
    db,
    fleet,
    audit,
    store: samples,
    tokens: made,
    call: (method, path, opts = {}) => {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.body !== undefined) headers["content-type"] ??= "application/json";
      const body =
        opts.body === undefined
          ? undefined
          : typeof opts.body === "string"
            ? opts.body
            : JSON.stringify(opts.body);
      return Promise.resolve(app.request(path, { method, headers, body }));
    },
    reopen: () => {
      db.close();
      return build(dir, made, mounts, now, metrics);
    },
    close: () => {
      if (db.isOpen) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return f;
}

export function serverFixture(
  opts: { mounts?: readonly Mount[]; now?: () => number; metrics?: ServerMetrics } = {},
): Fixture {
  return build(
    mkdtempSync(join(tmpdir(), "kvmon-server-")),
    null,
    opts.mounts ?? [],
    opts.now ?? Date.now,
    opts.metrics,
  );
}

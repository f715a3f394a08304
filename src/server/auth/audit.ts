/**
 * The server's audit log: one row per privileged action (a control call routed to an agent, a console session,
 * a token made or revoked with the CLI), refused ones included, in the state database, so it is kept across
 * restarts and queried by admins (GET /api/v1/audit). A record is committed (synchronous=FULL) before the answer
 * goes out. Secrets never reach it: callers are named, never their tokens; guest command arguments are recorded
 * as the agent records them (a passthrough's argument names only).
 */
import type { DatabaseSync } from "node:sqlite";
import { newestFirst } from "../state-db.ts";

export type AuditOutcome = "ok" | "denied" | "error";

export interface AuditRecord {
  /** Epoch ms when the action arrived. */
  time: number;
  /** The user's name, `host:<name>` for an agent, `cli:<os user>` for the CLI, `anonymous` without a valid token. */
  who: string;
  from: string | null;
  /** e.g. trace-on, trace-off, exec, agent-command, console, token-create, token-revoke, host-add. */
  action: string;
  host: string | null;
  domain: string | null;
  what: Record<string, unknown>;
  outcome: AuditOutcome;
  /** HTTP status of the answer (0 for a CLI action). */
  status: number;
  code: string | null;
  durationMs: number;
}

export interface AuditQuery {
  /** Records with an id below this (the previous page's `next`). */
  before?: number;
  limit: number;
  who?: string;
  host?: string;
  domain?: string;
  action?: string;
  since?: number;
}

interface Row {
  id: number;
  time: number;
  who: string;
  from_addr: string | null;
  action: string;
  host: string | null;
  domain: string | null;
  what: string;
  outcome: AuditOutcome;
  status: number;
  code: string | null;
  duration_ms: number;
}

export class AuditStore {
  private readonly db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.db = db;
    db.exec(`CREATE TABLE IF NOT EXISTS audit (
      id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, who TEXT NOT NULL, from_addr TEXT,
      action TEXT NOT NULL, host TEXT, domain TEXT, what TEXT NOT NULL, outcome TEXT NOT NULL,
      status INTEGER NOT NULL, code TEXT, duration_ms INTEGER NOT NULL)`);
  }

  write(r: AuditRecord): void {
    this.db
      .prepare(
        `INSERT INTO audit (time, who, from_addr, action, host, domain, what, outcome, status, code, duration_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.time,
        r.who,
        r.from,
        r.action,
        r.host,
        r.domain,
        JSON.stringify(r.what),
        r.outcome,
        r.status,
        r.code,
        Math.round(r.durationMs),
      );
  }

  /** Newest first; `next` is the `before` of the following page (null on the last). */
  query(q: AuditQuery): { records: Array<AuditRecord & { id: number }>; next: number | null } {
    const { rows, next } = newestFirst<Row>(
      this.db,
      "audit",
      [
        ["id", "<", q.before],
        ["who", "=", q.who],
        ["host", "=", q.host],
        ["domain", "=", q.domain],
        ["action", "=", q.action],
        ["time", ">=", q.since],
      ],
      q.limit,
    );
    const records = rows.map((r) => ({
      id: r.id,
      time: r.time,
      who: r.who,
      from: r.from_addr,
      action: r.action,
      host: r.host,
      domain: r.domain,
      what: JSON.parse(r.what) as Record<string, unknown>,
      outcome: r.outcome,
      status: r.status,
      code: r.code,
      durationMs: r.duration_ms,
    }));
    return { records, next };
  }
}

/**
 * The fleet's state in the state database: every host (its agent's control endpoint as registered with
 * `kvmon server host add`, its latest snapshot, when it last pushed and with which agent version) and the
 * lifecycle events agents pushed. Snapshots are kept parsed in memory too (the API reads them on every
 * request) and written through to SQLite before a push is acknowledged, so a restart serves the last ones.
 */
import type { DatabaseSync } from "node:sqlite";
import type { LifecycleEvent } from "../../model/lifecycle-event.ts";
import type { Snapshot } from "../../model/types.ts";
import { newestFirst } from "../state-db.ts";

/** Events kept (oldest deleted first). */
const MAX_EVENTS = 100_000;

/** Where the server reaches a host's agent for control calls. */
export interface AgentEndpoint {
  url: string;
  /** The agent's control token (kept in clear: the server presents it to the agent). */
  controlToken: string | null;
}

export interface HostRecord {
  name: string;
  agent: AgentEndpoint | null;
  snapshot: Snapshot | null;
  /** When the last snapshot arrived (epoch ms). */
  lastPushAt: number | null;
  /** The agent's User-Agent on its last push. */
  version: string | null;
}

export interface StoredEvent extends LifecycleEvent {
  id: number;
  host: string;
}

export interface EventQuery {
  host?: string;
  domain?: string;
  since?: number;
  /** Events with an id below this (the previous page's `next`). */
  before?: number;
  limit: number;
}

interface HostRow {
  name: string;
  agent_url: string | null;
  control_token: string | null;
  snapshot: string | null;
  last_push_at: number | null;
  version: string | null;
}

export class FleetState {
  private readonly db: DatabaseSync;
  private readonly hosts = new Map<string, HostRecord>();

  constructor(db: DatabaseSync) {
    this.db = db;
    db.exec(`CREATE TABLE IF NOT EXISTS hosts (
      name TEXT PRIMARY KEY, agent_url TEXT, control_token TEXT, snapshot TEXT, last_push_at INTEGER, version TEXT);
      CREATE TABLE IF NOT EXISTS events (
      id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT NOT NULL, time INTEGER NOT NULL, domain TEXT NOT NULL,
      uuid TEXT, type TEXT NOT NULL, detail TEXT);
      CREATE INDEX IF NOT EXISTS events_host_time ON events (host, time);`);
    for (const r of db.prepare("SELECT * FROM hosts").all() as unknown as HostRow[]) {
      this.hosts.set(r.name, {
        name: r.name,
        agent: r.agent_url === null ? null : { url: r.agent_url, controlToken: r.control_token },
        // Stored only after the schema accepted it.
        snapshot: r.snapshot === null ? null : (JSON.parse(r.snapshot) as Snapshot),
        lastPushAt: r.last_push_at,
        version: r.version,
      });
    }
  }

  /** Registers (or re-registers) a host and where its agent is. */
  register(name: string, agent: AgentEndpoint | null): void {
    this.db
      .prepare(
        `INSERT INTO hosts (name, agent_url, control_token) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET agent_url = excluded.agent_url, control_token = excluded.control_token`,
      )
      .run(name, agent?.url ?? null, agent?.controlToken ?? null);
    this.hosts.set(name, { ...this.blank(name), ...this.hosts.get(name), agent });
  }

  /** Keeps a host's latest snapshot; durable when it returns. */
  putSnapshot(host: string, snapshot: Snapshot, at: number, version: string | null): void {
    this.db
      .prepare(
        `INSERT INTO hosts (name, snapshot, last_push_at, version) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET snapshot = excluded.snapshot, last_push_at = excluded.last_push_at,
         version = excluded.version`,
      )
      .run(host, JSON.stringify(snapshot), at, version);
    this.hosts.set(host, { ...this.blank(host), ...this.hosts.get(host), snapshot, lastPushAt: at, version });
  }

  addEvents(host: string, events: readonly LifecycleEvent[]): void {
    const insert = this.db.prepare(
      "INSERT INTO events (host, time, domain, uuid, type, detail) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.db.exec("BEGIN");
    try {
      for (const e of events) insert.run(host, e.time, e.domain, e.uuid, e.type, e.detail);
      this.db.prepare("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?").run(MAX_EVENTS);
      this.db.exec("COMMIT");
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Newest first; `next` is the `before` of the following page (null on the last). */
  events(q: EventQuery): { events: StoredEvent[]; next: number | null } {
    const { rows, next } = newestFirst<StoredEvent>(
      this.db,
      "events",
      [
        ["host", "=", q.host],
        ["domain", "=", q.domain],
        ["time", ">=", q.since],
        ["id", "<", q.before],
      ],
      q.limit,
    );
    return { events: rows.map((r) => ({ ...r })), next };
  }

  host(name: string): HostRecord | undefined {
    return this.hosts.get(name);
  }

  all(): HostRecord[] {
    return [...this.hosts.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  private blank(name: string): HostRecord {
    return { name, agent: null, snapshot: null, lastPushAt: null, version: null };
  }
}

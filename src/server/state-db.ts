/**
 * The server's own state (tokens, audit log, hosts and their latest snapshots, events) in one SQLite file,
 * `state.db` in the data dir, beside (not inside) the sample store: small, transactional, kept across restarts.
 * WAL mode with synchronous=FULL: a write that returned is on disk, so an acknowledged push or an audit record
 * survives kill -9. The directory is 0700 and the file 0600: it holds token hashes and the agents' control tokens.
 * Each module (auth/tokens.ts, auth/audit.ts, fleet/state.ts) creates its own tables on open.
 */
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

export const STATE_DB_FILE = "state.db";

export function openStateDb(dataDir: string): DatabaseSync {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, STATE_DB_FILE);
  const db = new DatabaseSync(path);
  chmodSync(path, 0o600);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
  return db;
}

/** A condition of a paged query: column and operator come from code, only the value from the request. */
export type Filter = readonly [column: string, op: "=" | ">=" | "<", value: string | number | undefined];

/**
 * One page of a table with an `id INTEGER PRIMARY KEY AUTOINCREMENT`, newest first; `next` is the id to pass
 * as the next page's `id < next` filter (null on the last page). Keyset paging: stable while rows are added.
 */
export function newestFirst<T extends { id: number }>(
  db: DatabaseSync,
  table: string,
  filters: readonly Filter[],
  limit: number,
): { rows: T[]; next: number | null } {
  const used = filters.filter((f) => f[2] !== undefined);
  const where = used.length ? `WHERE ${used.map(([c, op]) => `${c} ${op} ?`).join(" AND ")}` : "";
  const args = used.map((f) => f[2]!);
  const rows = db
    .prepare(`SELECT * FROM ${table} ${where} ORDER BY id DESC LIMIT ?`)
    .all(...args, limit + 1) as unknown as T[];
  const page = rows.slice(0, limit);
  return { rows: page, next: rows.length > limit ? page[page.length - 1]!.id : null };
}

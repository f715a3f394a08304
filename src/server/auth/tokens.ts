/**
 * API and host tokens, stored hashed in the state database. A token is `kvmon_` + 32 random bytes (base64url),
 * shown once when made. Only its SHA-256 is kept: a slow password hash (scrypt) protects guessable secrets, but
 * a 256-bit random token cannot be guessed, so one fast hash is as safe and costs nothing per request. The first
 * 12 hex digits of the hash are the token's public id (the row's key, what `token list` and the audit log show);
 * the full hashes are then compared in constant time. When a token was last used is kept to the minute (a write
 * at most once a minute per token, not one per request).
 */
import crypto from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import { LastAdminTokenError, TokenError, TokenExistsError, TokenNotFoundError } from "./errors.ts";
import { type Principal, type Role, ROLES } from "./types.ts";

const PREFIX = "kvmon_";
/** The longest bearer value looked at: a token is 49 characters, anything much longer is not one. */
const MAX_TOKEN_LENGTH = 256;
/** How stale `last_used_at` may get before a request writes it again. */
const LAST_USED_GRAIN_MS = 60_000;
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/;

export interface TokenInfo {
  id: string;
  kind: "user" | "host";
  /** The user's (or engine's) name, or the host's. */
  name: string;
  role: Role | null;
  createdAt: number;
  revokedAt: number | null;
  /** When it last authenticated a request (to the minute), null if never. */
  lastUsedAt: number | null;
}

interface Row {
  id: string;
  hash: Uint8Array;
  kind: "user" | "host";
  name: string;
  role: Role | null;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

const sha256 = (s: string) => crypto.createHash("sha256").update(s, "utf8").digest();
const idOf = (hash: Buffer) => hash.toString("hex").slice(0, 12);

export class TokenStore {
  private readonly db: DatabaseSync;
  private readonly now: () => number;

  constructor(db: DatabaseSync, now: () => number = Date.now) {
    this.db = db;
    this.now = now;
    db.exec(`CREATE TABLE IF NOT EXISTS tokens (
      id TEXT PRIMARY KEY, hash BLOB NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, role TEXT,
      created_at INTEGER NOT NULL, revoked_at INTEGER, last_used_at INTEGER)`);
    const columns = db.prepare("PRAGMA table_info(tokens)").all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === "last_used_at"))
      db.exec("ALTER TABLE tokens ADD COLUMN last_used_at INTEGER"); // a state.db from before it was kept
  }

  /** Makes a token; returns the secret (shown once) and its record. One live token per (kind, name). */
  create(kind: "user" | "host", name: string, role: Role | null): { token: string; info: TokenInfo } {
    if (!NAME_PATTERN.test(name))
      throw new TokenError(`name '${name}' must be 1-128 letters, digits, '_', '.', '@' or '-'`);
    if (kind === "user" && (role === null || !ROLES.includes(role)))
      throw new TokenError(`a user token needs a role (${ROLES.join(", ")})`);
    if (this.live(kind, name))
      throw new TokenExistsError(`a live ${kind} token named '${name}' exists; revoke it first`);
    const token = PREFIX + crypto.randomBytes(32).toString("base64url");
    const hash = sha256(token);
    const info: TokenInfo = {
      id: idOf(hash),
      kind,
      name,
      role: kind === "user" ? role : null,
      createdAt: this.now(),
      revokedAt: null,
      lastUsedAt: null,
    };
    this.db
      .prepare("INSERT INTO tokens (id, hash, kind, name, role, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(info.id, hash, kind, name, info.role, info.createdAt);
    return { token, info };
  }

  /** Oldest first; tokens made in the same millisecond in the order they were made. */
  list(): TokenInfo[] {
    const rows = this.db.prepare("SELECT * FROM tokens ORDER BY created_at, rowid").all() as unknown as Row[];
    return rows.map(toInfo);
  }

  /**
   * Revokes by id or by name (the live one); returns what was revoked. With `keepLastAdmin` (the API), the last
   * live admin token is refused: the CLI, which needs the data dir, is the way to replace it.
   */
  revoke(idOrName: string, opts: { keepLastAdmin?: boolean } = {}): TokenInfo {
    const rows = this.db
      .prepare("SELECT * FROM tokens WHERE revoked_at IS NULL AND (id = ? OR name = ?)")
      .all(idOrName, idOrName) as unknown as Row[];
    if (rows.length === 0) throw new TokenNotFoundError(`no live token with id or name '${idOrName}'`);
    if (rows.length > 1)
      throw new TokenError(
        `'${idOrName}' names a user and a host token: revoke it by its id (see the token list)`,
      );
    const row = rows[0]!;
    if (opts.keepLastAdmin && row.kind === "user" && row.role === "admin" && this.liveAdmins() === 1)
      throw new LastAdminTokenError(
        `'${row.name}' holds the last live admin token; make another admin token before revoking it`,
        { hint: "kvmon server token create --role admin --name <you>" },
      );
    const at = this.now();
    this.db.prepare("UPDATE tokens SET revoked_at = ? WHERE id = ?").run(at, row.id);
    return { ...toInfo(row), revokedAt: at };
  }

  /** Whether a live admin token exists (the server refuses to start without one). */
  hasAdmin(): boolean {
    return this.liveAdmins() > 0;
  }

  private liveAdmins(): number {
    const r = this.db
      .prepare(
        "SELECT count(*) AS n FROM tokens WHERE kind = 'user' AND role = 'admin' AND revoked_at IS NULL",
      )
      .get() as { n: number };
    return r.n;
  }

  /** The principal a bearer token stands for, or null (unknown, revoked, malformed). */
  verify(given: string): Principal | null {
    if (given.length > MAX_TOKEN_LENGTH) return null;
    const hash = sha256(given);
    const row = this.db
      .prepare("SELECT * FROM tokens WHERE id = ? AND revoked_at IS NULL")
      .get(idOf(hash)) as unknown as Row | undefined;
    if (!row || !crypto.timingSafeEqual(Buffer.from(row.hash), hash)) return null;
    const now = this.now();
    if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_GRAIN_MS)
      this.db.prepare("UPDATE tokens SET last_used_at = ? WHERE id = ?").run(now, row.id);
    return row.kind === "host"
      ? { kind: "host", host: row.name }
      : { kind: "user", name: row.name, role: row.role! };
  }

  private live(kind: string, name: string): boolean {
    return (
      this.db
        .prepare("SELECT 1 FROM tokens WHERE kind = ? AND name = ? AND revoked_at IS NULL")
        .get(kind, name) !== undefined
    );
  }
}

function toInfo(r: Row): TokenInfo {
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    role: r.role,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
  };
}

/**
 * The SQLite layout of the embedded store, in one file (WAL journal):
 * - `symbols` and `series`: the dictionary, id <-> sorted label set as symbol ids (symbols.ts; unique by
 *   construction: the store looks a label set up in memory before it inserts one, so no UNIQUE index);
 * - `chunks`: closed Gorilla chunks (chunk.ts), ~120 samples or 2 h each, found by (series, max_t), with the
 *   value before the chunk (`prev_v`, for the first increase when it is rolled up at expiry);
 * - `head_wal`: the raw samples of each append (one row per batch) not yet in a closed chunk, replayed at open
 *   to rebuild the in-memory head; truncated as heads are cut;
 * - `rollup_1m`: 1-minute buckets (rollup.ts, Gorilla-encoded columns) of raw chunks, written as they expire
 *   (until then raw answers exactly), with their newest time (`last_t`, which tells the head-WAL replay what was
 *   closed after the raw chunk is gone);
 * - `rollup_1h`: one row per series and completed hour, written as the chunk that completes the hour closes.
 */
import type { DatabaseSync } from "node:sqlite";

/** Bumped when the layout changes; a store of another version is refused, never migrated silently. */
export const LAYOUT_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS symbols (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, labels BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (series_id INTEGER NOT NULL, min_t INTEGER NOT NULL, max_t INTEGER NOT NULL,
  prev_v REAL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_series ON chunks (series_id, max_t);
CREATE TABLE IF NOT EXISTS head_wal (seq INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS rollup_1m (series_id INTEGER NOT NULL, min_t INTEGER NOT NULL, max_t INTEGER NOT NULL,
  last_t INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS rollup_1m_by_series ON rollup_1m (series_id, max_t);
CREATE TABLE IF NOT EXISTS rollup_1h (series_id INTEGER NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
  sum REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL, inc REAL NOT NULL, PRIMARY KEY (series_id, bucket)) WITHOUT ROWID;
`;

export type Synchronous = "NORMAL" | "FULL";

/** Opens the layout (creating it in an empty file) and returns the layout version found. */
export function prepareSchema(db: DatabaseSync, synchronous: Synchronous): number {
  db.exec("PRAGMA auto_vacuum = INCREMENTAL"); // takes effect in a new file only: flush() gives free pages back
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${synchronous}`);
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec(DDL);
  db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('layout', ?)").run(String(LAYOUT_VERSION));
  const row = db.prepare("SELECT value FROM meta WHERE key = 'layout'").get() as { value: string };
  return Number(row.value);
}

/** The statements the store runs, prepared once. */
export function prepareStatements(db: DatabaseSync) {
  return {
    insertSymbol: db.prepare("INSERT INTO symbols (id, text) VALUES (?, ?)"),
    allSymbols: db.prepare("SELECT id, text FROM symbols"),
    insertSeries: db.prepare("INSERT INTO series (id, labels) VALUES (?, ?)"),
    allSeries: db.prepare("SELECT id, labels FROM series"),
    closedMaxT: db.prepare(
      `SELECT id, max(t) AS maxT FROM (SELECT series_id AS id, max(max_t) AS t FROM chunks GROUP BY series_id
        UNION ALL SELECT series_id, max(last_t) FROM rollup_1m GROUP BY series_id) GROUP BY id`,
    ),
    insertChunk: db.prepare(
      "INSERT INTO chunks (series_id, min_t, max_t, prev_v, data) VALUES (?, ?, ?, ?, ?)",
    ),
    expiringChunks: db.prepare(
      "SELECT prev_v AS prevV, data FROM chunks WHERE series_id = ? AND max_t < ? ORDER BY min_t",
    ),
    // In the index's order (series, max_t): ORDER BY min_t made SQLite sort the rows, blobs and all, in a temp
    // B-tree (the top-k query's main cost). Chunks of a series overlap only after late samples, and the
    // reader (mergeSamples) sorts parts that do.
    chunksInRange: db.prepare(
      "SELECT data FROM chunks WHERE series_id = ? AND max_t >= ? AND min_t <= ? ORDER BY max_t",
    ),
    chunksOfSeriesInRange: db.prepare(
      `SELECT series_id AS id, data FROM chunks WHERE series_id IN (SELECT value FROM json_each(?))
        AND max_t >= ? AND min_t <= ? ORDER BY series_id, max_t`,
    ),
    lastChunk: db.prepare("SELECT data FROM chunks WHERE series_id = ? ORDER BY max_t DESC LIMIT 1"),
    insertWal: db.prepare("INSERT INTO head_wal (seq, data) VALUES (?, ?)"),
    walRecords: db.prepare("SELECT seq, data FROM head_wal ORDER BY seq"),
    truncateWal: db.prepare("DELETE FROM head_wal WHERE seq < ?"),
    insertMinute: db.prepare(
      "INSERT INTO rollup_1m (series_id, min_t, max_t, last_t, data) VALUES (?, ?, ?, ?, ?)",
    ),
    minutesInRange: db.prepare(
      "SELECT data FROM rollup_1m WHERE series_id = ? AND max_t >= ? AND min_t <= ? ORDER BY min_t",
    ),
    insertHour: db.prepare(
      "INSERT OR REPLACE INTO rollup_1h (series_id, bucket, count, sum, max, last, inc) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    hoursInRange: db.prepare(
      "SELECT bucket AS start, count, sum, max, last, inc FROM rollup_1h WHERE series_id = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket",
    ),
    anyData: db.prepare(
      `SELECT EXISTS (SELECT 1 FROM chunks WHERE series_id = ?1 AND max_t >= ?2 AND min_t <= ?3)
        OR EXISTS (SELECT 1 FROM rollup_1m WHERE series_id = ?1 AND max_t >= ?2 AND min_t <= ?3)
        OR EXISTS (SELECT 1 FROM rollup_1h WHERE series_id = ?1 AND bucket >= ?2 - 3599999 AND bucket <= ?3) AS hit`,
    ),
    // Retention goes series by series through the (series, time) indexes: an index by time alone would cost
    // bytes on every row for a job that runs hourly.
    expireChunks: db.prepare("DELETE FROM chunks WHERE series_id = ? AND max_t < ?"),
    expireMinutes: db.prepare("DELETE FROM rollup_1m WHERE series_id = ? AND max_t < ?"),
    expireHours: db.prepare("DELETE FROM rollup_1h WHERE series_id = ? AND bucket < ?"),
    orphanSeries: db.prepare(
      `SELECT id FROM series s WHERE NOT EXISTS (SELECT 1 FROM chunks WHERE series_id = s.id)
        AND NOT EXISTS (SELECT 1 FROM rollup_1m WHERE series_id = s.id)
        AND NOT EXISTS (SELECT 1 FROM rollup_1h WHERE series_id = s.id)`,
    ),
    deleteSeries: db.prepare("DELETE FROM series WHERE id = ?"),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;

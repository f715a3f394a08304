/**
 * The token store's last-used time: written when a token authenticates, at most once a minute (not on every
 * request), and added to a state database made before it was kept.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openStateDb } from "../state-db.ts";
import { TokenStore } from "./tokens.ts";

const dir = mkdtempSync(join(tmpdir(), "kvmon-tokens-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("last used: set on the first use, then at most once a minute", () => {
  const db = openStateDb(join(dir, "a"));
  let now = 1_000_000;
  const store = new TokenStore(db, () => now);
  const { token, info } = store.create("user", "vera", "viewer");
  const lastUsed = () => store.list().find((t) => t.id === info.id)!.lastUsedAt;
  assert.equal(lastUsed(), null);
  assert.ok(store.verify(token));
  assert.equal(lastUsed(), 1_000_000);
  now += 59_000;
  store.verify(token);
  assert.equal(lastUsed(), 1_000_000, "not rewritten within the minute");
  now += 1_000;
  store.verify(token);
  assert.equal(lastUsed(), 1_060_000);
  store.verify(`${token}x`);
  assert.equal(lastUsed(), 1_060_000, "a wrong token touches nothing");
  db.close();
});

test("a state database from before last-used gets the column; its tokens still verify", () => {
  const db = openStateDb(join(dir, "b"));
  db.exec(`CREATE TABLE tokens (id TEXT PRIMARY KEY, hash BLOB NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    role TEXT, created_at INTEGER NOT NULL, revoked_at INTEGER)`);
  const { token } = new TokenStore(db).create("user", "ada", "admin");
  const again = new TokenStore(db);
  assert.deepEqual(again.verify(token), { kind: "user", name: "ada", role: "admin" });
  assert.ok(again.list()[0]!.lastUsedAt! > 0);
  db.close();
});

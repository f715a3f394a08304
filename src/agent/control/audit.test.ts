import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Logger } from "../log.ts";
import { AuditLog, type AuditRecord } from "./audit.ts";

const dir = await mkdtemp(join(tmpdir(), "kvmon-audit-"));
after(() => rm(dir, { recursive: true, force: true }));

const record = (n: number): AuditRecord => ({
  time: new Date(0).toISOString(),
  who: "token:abc",
  from: "127.0.0.1",
  action: "exec",
  guest: `vm-${n}`,
  what: { path: "/bin/echo", args: [String(n)] },
  outcome: "ok",
  status: 200,
  exitCode: 0,
  durationMs: 5,
});

test("audit: one JSON line per record, file 0600 in a 0700 directory it creates, mirrored to the logger", async () => {
  const logged: string[] = [];
  const path = join(dir, "new", "audit.log");
  const log = new AuditLog({ path, logger: new Logger((l) => logged.push(l)) });
  await log.open();
  await Promise.all([log.write(record(1)), log.write(record(2))]);
  await log.close();
  const lines = (await readFile(path, "utf8"))
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);
  assert.deepEqual(lines, [record(1), record(2)]);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, "new"))).mode & 0o777, 0o700);
  const entry = JSON.parse(logged[0]!);
  assert.equal(entry.msg, "audit");
  assert.equal(entry.guest, "vm-1");
  assert.equal(entry.what, JSON.stringify(record(1).what));
});

test("audit: an existing file is appended to and tightened to 0600", async () => {
  const path = join(dir, "old.log");
  await writeFile(path, "earlier\n", { mode: 0o644 });
  const log = new AuditLog({ path, logger: new Logger(() => undefined) });
  await log.write(record(3));
  await log.close();
  assert.match(await readFile(path, "utf8"), /^earlier\n\{.*"vm-3"/);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
});

test("audit: rotated by size, keeping `keep` old files, none over the bound", async () => {
  const path = join(dir, "rot.log");
  const size = Buffer.byteLength(`${JSON.stringify(record(10))}\n`);
  const log = new AuditLog({ path, maxBytes: size * 2, keep: 2, logger: new Logger(() => undefined) });
  for (let n = 10; n < 17; n++) await log.write(record(n));
  await log.close();
  const guests = async (p: string) =>
    (await readFile(p, "utf8"))
      .trimEnd()
      .split("\n")
      .map((l) => (JSON.parse(l) as AuditRecord).guest);
  assert.deepEqual(await guests(path), ["vm-16"]);
  assert.deepEqual(await guests(`${path}.1`), ["vm-14", "vm-15"]);
  assert.deepEqual(await guests(`${path}.2`), ["vm-12", "vm-13"]);
  await assert.rejects(stat(`${path}.3`), { code: "ENOENT" });
});

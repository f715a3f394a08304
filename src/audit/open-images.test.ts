import assert from "node:assert/strict";
import { constants } from "node:fs";
import { mkdtemp, open, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeOpenFlags, fdinfoFlags, O_DIRECT, O_DSYNC, O_SYNC, openImages } from "./open-images.ts";

test("the flag values are the x86-64 kernel's (node's own constants agree)", () => {
  assert.equal(O_DIRECT, constants.O_DIRECT);
  assert.equal(O_DSYNC, constants.O_DSYNC);
  assert.equal(O_SYNC, constants.O_SYNC);
});

test("decodes fdinfo flags: access mode, O_DIRECT, O_DSYNC, O_SYNC", () => {
  // What QEMU's fd on the lab's cache='none' image shows: O_CLOEXEC | O_LARGEFILE | O_DIRECT | O_RDWR.
  assert.deepEqual(decodeOpenFlags("02140002"), {
    flagsOctal: "02140002",
    access: "read-write",
    direct: true,
    dsync: false,
    sync: false,
  });
  assert.deepEqual(decodeOpenFlags("0100000"), {
    flagsOctal: "0100000",
    access: "read-only",
    direct: false,
    dsync: false,
    sync: false,
  });
  const sync = decodeOpenFlags("04010001");
  assert.equal(sync.access, "write-only");
  assert.equal(sync.sync, true);
  assert.equal(sync.dsync, true);
  const dsync = decodeOpenFlags("010002");
  assert.equal(dsync.dsync, true);
  assert.equal(dsync.sync, false, "O_DSYNC alone is not O_SYNC");
});

test("fdinfoFlags reads the flags line of a real fdinfo text", () => {
  assert.equal(fdinfoFlags("pos:\t0\nflags:\t02140002\nmnt_id:\t41\nino:\t123\n"), "02140002");
  assert.equal(fdinfoFlags("pos:\t0\n"), null);
});

test("openImages finds this process's descriptors on a file and reads their real flags", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kvmon-audit-"));
  const path = join(await realpath(dir), "image.raw");
  const rw = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC);
  const ro = await open(path, constants.O_RDONLY);
  try {
    const found = await openImages("/proc", process.pid, new Set([path]));
    const mine = found.filter((o) => o.fd === rw.fd || o.fd === ro.fd);
    assert.equal(mine.length, 2);
    assert.deepEqual(
      mine.map((o) => [o.fd, o.access, o.dsync, o.direct]),
      [
        [rw.fd, "read-write", true, false],
        [ro.fd, "read-only", false, false],
      ].sort((a, b) => (a[0] as number) - (b[0] as number)),
    );
    assert.deepEqual(await openImages("/proc", process.pid, new Set(["/nonexistent"])), []);
  } finally {
    await rw.close();
    await ro.close();
    await rm(dir, { recursive: true });
  }
});

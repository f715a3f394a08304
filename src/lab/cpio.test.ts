import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { cpioArchive } from "./cpio.ts";

function field(buf: Buffer, at: number, index: number): number {
  const start = at + 6 + index * 8;
  return Number.parseInt(buf.toString("ascii", start, start + 8), 16);
}

test("a file record: magic, mode, size, name, 4-byte padding", () => {
  const buf = cpioArchive([{ type: "file", path: "/init", data: Buffer.from("hello"), mode: 0o755 }]);
  assert.equal(buf.toString("ascii", 0, 6), "070701");
  assert.equal(field(buf, 0, 1), 0o100755); // mode
  assert.equal(field(buf, 0, 6), 5); // filesize
  assert.equal(field(buf, 0, 11), 5); // namesize: "init" + NUL
  // 110-byte header + "init\0" = 115, padded to 116; data at 116..121, padded to 124.
  assert.equal(buf.toString("ascii", 110, 114), "init");
  assert.equal(buf.toString("ascii", 116, 121), "hello");
  assert.equal(buf.toString("ascii", 124, 130), "070701");
  assert.equal(buf.toString("ascii", 124 + 110, 124 + 120), "TRAILER!!!");
  assert.equal(buf.length % 4, 0);
});

test("device nodes carry rdev major/minor; symlinks store their target as data", () => {
  const buf = cpioArchive([
    { type: "char", path: "dev/console", major: 5, minor: 1 },
    { type: "symlink", path: "bin/sh", target: "busybox" },
  ]);
  assert.equal(field(buf, 0, 1), 0o020600);
  assert.equal(field(buf, 0, 9), 5);
  assert.equal(field(buf, 0, 10), 1);
  const second = 124; // 110-byte header + "dev/console\0" (12) = 122, padded to 124
  assert.equal(field(buf, second, 1), 0o120777);
  assert.equal(field(buf, second, 6), "busybox".length);
});

test("rejects duplicate and escaping paths", () => {
  assert.throws(
    () =>
      cpioArchive([
        { type: "dir", path: "a" },
        { type: "dir", path: "/a" },
      ]),
    /duplicate/,
  );
  assert.throws(() => cpioArchive([{ type: "dir", path: "../etc" }]), /bad cpio path/);
});

test("GNU cpio lists what was written", { skip: !existsSync("/usr/bin/cpio") && "no /usr/bin/cpio" }, () => {
  const buf = cpioArchive([
    { type: "dir", path: "bin" },
    { type: "file", path: "bin/busybox", data: Buffer.alloc(1001, 1), mode: 0o755 },
    { type: "symlink", path: "bin/sh", target: "busybox" },
    { type: "char", path: "console", major: 5, minor: 1 },
  ]);
  const listing = execFileSync("/usr/bin/cpio", ["-itv", "--quiet"], { input: buf, encoding: "utf8" });
  const lines = listing.trim().split("\n");
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^drwxr-xr-x .* bin$/);
  assert.match(lines[1]!, /^-rwxr-xr-x .* 1001 .* bin\/busybox$/);
  assert.match(lines[2]!, /^lrwxrwxrwx .* bin\/sh -> busybox$/);
  assert.match(lines[3]!, /^crw------- .* 5,\s+1 .* console$/);
});

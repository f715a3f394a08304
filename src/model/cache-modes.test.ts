import assert from "node:assert/strict";
import { test } from "node:test";
import { CACHE_MODES, IO_DEFAULT, ioMode, modeOf, resolveMode } from "./cache-modes.ts";

test("QEMU's cache= table: each mode's three switches name it back, and no two modes share them", () => {
  const table = Object.fromEntries(CACHE_MODES.map((m) => [m.name, m.flags]));
  assert.deepEqual(table, {
    writeback: { writeback: true, direct: false, noFlush: false },
    none: { writeback: true, direct: true, noFlush: false },
    writethrough: { writeback: false, direct: false, noFlush: false },
    directsync: { writeback: false, direct: true, noFlush: false },
    unsafe: { writeback: true, direct: false, noFlush: true },
  });
  for (const m of CACHE_MODES) assert.equal(modeOf(m.flags), m.name);
  assert.equal(modeOf({ writeback: true, direct: true, noFlush: true }), null);
});

test("no cache in the definition, or 'default', is QEMU's writeback", () => {
  assert.equal(resolveMode(null), "writeback");
  assert.equal(resolveMode("default"), "writeback");
  assert.equal(resolveMode("directsync"), "directsync");
});

test("io modes: threads (the default), native and io_uring, each with its meaning; unknown ones have none", () => {
  assert.equal(IO_DEFAULT, "threads");
  for (const m of ["threads", "native", "io_uring"]) assert.ok(ioMode(m)?.meaning, m);
  assert.match(ioMode("native")!.meaning, /O_DIRECT/);
  assert.equal(ioMode("posix"), undefined);
});

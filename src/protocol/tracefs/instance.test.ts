/** The instance API's pure parts and its error when tracefs is absent; the rest runs on the real tracefs in
 * test/integration/tracefs.test.ts. */
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { TracefsUnavailableError } from "./errors.ts";
import { findTracefs, parseCpuStats, pidFilter } from "./instance.ts";

test("per_cpu stats as this kernel writes them", () => {
  const text =
    "entries: 12\noverrun: 3456\ncommit overrun: 0\nbytes: 4096\noldest event ts:  7342.618451\n" +
    "now ts:  7342.700000\ndropped events: 7\nread events: 89\n";
  assert.deepEqual(parseCpuStats(text), {
    entries: 12,
    overrun: 3456,
    commitOverrun: 0,
    bytes: 4096,
    droppedEvents: 7,
    readEvents: 89,
  });
});

test("pid filters", () => {
  assert.equal(pidFilter([4321]), "common_pid == 4321");
  assert.equal(pidFilter([1, 22]), "common_pid == 1 || common_pid == 22");
  assert.equal(pidFilter([]), "0");
  assert.throws(() => pidFilter([0]), RangeError);
  assert.throws(() => pidFilter([1.5]), RangeError);
});

test("no tracefs: one TracefsUnavailableError naming where it looked and how to mount it", async () => {
  const empty = await mkdtemp(join(tmpdir(), "kvmon-notracefs-"));
  await assert.rejects(findTracefs([join(empty, "tracing")]), (e: unknown) => {
    assert.ok(e instanceof TracefsUnavailableError);
    assert.equal(e.code, "TRACEFS_UNAVAILABLE");
    assert.match(e.message, /tracefs is not mounted \(looked in .*tracing\)/);
    assert.match(e.hint ?? "", /mount -t tracefs none/);
    return true;
  });
});

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ProcessStartTimes } from "./process-start.ts";

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function fakeRoots(startTicks: number) {
  const root = mkdtempSync(join(tmpdir(), "kvmon-proc-"));
  roots.push(root);
  const proc = join(root, "proc");
  const run = join(root, "run");
  mkdirSync(join(proc, "4321"), { recursive: true });
  mkdirSync(run);
  writeFileSync(join(proc, "stat"), "cpu  1 2 3\nbtime 1795480000\nprocesses 9\n");
  // comm with spaces and a ')' inside, as QEMU's can be: fields after the last ')' start at field 3.
  const rest = ["S", ...Array.from({ length: 18 }, (_, i) => String(i + 4)), String(startTicks), "0"];
  writeFileSync(join(proc, "4321", "stat"), `4321 (qemu (x) y) ${rest.join(" ")}\n`);
  writeFileSync(join(run, "vm1.pid"), "4321\n");
  return { procRoot: proc, runDir: run };
}

test("start time = btime + starttime ticks / 100, read from the pid file and /proc, cached per (uuid, id)", async () => {
  const roots = fakeRoots(12345);
  const p = new ProcessStartTimes(roots);
  assert.equal(await p.get("vm1", "u1", 7), 1795480000_000 + 123450);
  writeFileSync(join(roots.runDir, "vm1.pid"), "garbage");
  assert.equal(await p.get("vm1", "u1", 7), 1795480000_000 + 123450, "cached for the same id");
  assert.equal(await p.get("vm1", "u1", 8), undefined, "new id re-read; unreadable means unknown");
  assert.equal(await p.get("vm1", "u1", -1), undefined, "inactive domain");
});

test("missing files (remote host, no permission) give undefined, not an error", async () => {
  const errors: string[] = [];
  const p = new ProcessStartTimes({
    procRoot: "/nonexistent/proc",
    runDir: "/nonexistent/run",
    onError: (d, _uuid, e) => errors.push(`${d}: ${(e as NodeJS.ErrnoException).code}`),
  });
  assert.equal(await p.get("vm1", "u1", 3), undefined);
  assert.deepEqual(errors, ["vm1: ENOENT"], "the reason is reported, not swallowed");
});

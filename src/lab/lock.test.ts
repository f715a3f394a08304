import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { withLabLock } from "./lock.ts";

test("withLabLock serializes holders and releases on error", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kvmon-lock-"));
  try {
    const order: string[] = [];
    const hold = (tag: string, ms: number) =>
      withLabLock(
        dir,
        () => {},
        async () => {
          order.push(`${tag} in`);
          assert.equal((await readFile(join(dir, "lock"), "utf8")).trim(), String(process.pid));
          await new Promise((r) => setTimeout(r, ms));
          order.push(`${tag} out`);
        },
      );
    // Same process, so the pid check sees a live owner and the second caller waits.
    await Promise.all([hold("a", 300), new Promise((r) => setTimeout(r, 50)).then(() => hold("b", 10))]);
    assert.deepEqual(order, ["a in", "a out", "b in", "b out"]);
    await assert.rejects(
      withLabLock(
        dir,
        () => {},
        async () => Promise.reject(new Error("boom")),
      ),
      /boom/,
    );
    await withLabLock(
      dir,
      () => {},
      async () => {},
    ); // not left locked by the failure
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("withLabLock takes over a lock whose owner is dead, and times out on a live one", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kvmon-lock-"));
  try {
    const child = spawn(process.execPath, ["-e", ""]);
    const deadPid = child.pid!;
    await new Promise((r) => child.once("exit", r));
    await writeFile(join(dir, "lock"), `${deadPid}\n`);
    assert.equal(
      await withLabLock(
        dir,
        () => {},
        async () => "got it",
        1000,
      ),
      "got it",
    );
    await writeFile(join(dir, "lock"), `${process.pid}\n`);
    await assert.rejects(
      withLabLock(
        dir,
        () => {},
        async () => "never",
        300,
      ),
      /locked by pid/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

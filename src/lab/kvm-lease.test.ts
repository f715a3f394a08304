import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { liveKvmLeases, takeKvmLease } from "./kvm-lease.ts";

test("KVM leases: counted while held, released, and dead holders' leases dropped", async () => {
  const root = await mkdtemp(join(tmpdir(), "kvmon-lease-"));
  try {
    assert.equal(await liveKvmLeases(root), 0);
    const a = await takeKvmLease(root);
    const b = await takeKvmLease(root);
    assert.equal(await liveKvmLeases(root), 2);
    await a();
    assert.equal(await liveKvmLeases(root), 1);
    await b();
    await b(); // idempotent
    const child = spawn(process.execPath, ["-e", ""]);
    await new Promise((r) => child.once("exit", r));
    await writeFile(join(root, "kvm-leases", `${child.pid}-1`), `${child.pid}\n`);
    assert.equal(await liveKvmLeases(root), 0);
    assert.deepEqual(await readdir(join(root, "kvm-leases")), [], "the dead holder's lease is removed");
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

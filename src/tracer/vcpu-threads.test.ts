import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { TracerDomainError } from "./errors.ts";
import { domainThreads, runningDomains } from "./vcpu-threads.ts";

test("vCPU threads from the pid file and the threads' names; a domain without pid file is named", async () => {
  const root = await mkdtemp(join(tmpdir(), "kvmon-vcpu-"));
  try {
    const paths = { runDir: join(root, "run"), procRoot: join(root, "proc") };
    await mkdir(paths.runDir);
    await writeFile(join(paths.runDir, "vm1.pid"), "4242\n");
    await writeFile(join(paths.runDir, "vm1.xml"), "<domstatus/>");
    const threads = {
      "4242": "qemu-system-x86",
      "4250": "CPU 0/KVM",
      "4251": "CPU 1/KVM",
      "4252": "IO mon_iothread",
    };
    for (const [tid, comm] of Object.entries(threads)) {
      await mkdir(join(paths.procRoot, "4242", "task", tid), { recursive: true });
      await writeFile(join(paths.procRoot, "4242", "task", tid, "comm"), `${comm}\n`);
    }
    assert.deepEqual(await runningDomains(paths), ["vm1"]);
    assert.deepEqual(
      await domainThreads(paths, "vm1"),
      new Map([
        [4250, 0],
        [4251, 1],
      ]),
    );
    await assert.rejects(domainThreads(paths, "vm2"), (e: unknown) => {
      assert.ok(e instanceof TracerDomainError);
      assert.equal(e.code, "TRACER_DOMAIN");
      assert.match(e.message, /'vm2' is not running here/);
      return true;
    });
    await assert.rejects(domainThreads(paths, "../x"), TracerDomainError);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

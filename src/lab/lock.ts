/**
 * One `lab up`/`down`/`kvm` at a time per lab directory: concurrent test runs (each with its own global
 * setup) would otherwise race to define the same domains or swap the image under each other. The lock is a
 * file created with O_EXCL holding the owner's pid; a lock whose owner is gone is taken over.
 */
import { link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { isAlive } from "./daemons.ts";
import { LabTimeoutError } from "./errors.ts";
import type { Progress } from "./progress.ts";

/** Runs `fn` holding <root>/lock; waits for another holder up to `timeoutMs` (a cold build takes minutes). */
export async function withLabLock<T>(
  root: string,
  progress: Progress,
  fn: () => Promise<T>,
  timeoutMs = 15 * 60_000,
): Promise<T> {
  await mkdir(root, { recursive: true, mode: 0o755 });
  const path = join(root, "lock");
  const deadline = Date.now() + timeoutMs;
  const waitStart = Date.now();
  let nextReport = waitStart;
  for (;;) {
    if (await tryLock(path)) break;
    const owner = await lockOwner(path);
    if (owner === undefined || !isAlive(owner)) {
      // The owner died without releasing it. (Two waiters taking over at the same instant could both
      // succeed; that needs a crash and a race together, and costs a failed define, not data.)
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new LabTimeoutError(
        `the lab is locked by pid ${owner} (${path}) for more than ${timeoutMs / 1000} s`,
        {
          hint: `wait for that 'kvmon lab' to finish, or check it with 'ps -p ${owner}'`,
        },
      );
    }
    if (Date.now() >= nextReport) {
      const waited = Math.round((Date.now() - waitStart) / 1000);
      progress(`waiting for another kvmon lab command (pid ${owner}) to finish (${waited} s so far)`);
      nextReport = Date.now() + 10_000;
    }
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

/** Creates the lock with its content already complete: a temp file, then link(2), which fails if it exists. */
async function tryLock(path: string): Promise<boolean> {
  const temp = `${path}.${process.pid}`;
  await writeFile(temp, `${process.pid}\n`, { mode: 0o644 });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

async function lockOwner(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(path, "utf8"), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

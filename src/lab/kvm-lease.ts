/**
 * Leases on the KVM guest. Several test runs share the lab; each one that needs the KVM guest holds a lease
 * file (<lab>/kvm-leases/<pid>-<n>) while it uses it, and the guest is stopped only when the last live lease
 * is released. Leases of processes that died are ignored and removed.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isAlive } from "./daemons.ts";

let counter = 0;

function leaseDir(root: string): string {
  return join(root, "kvm-leases");
}

/** Takes a lease; the returned function releases it (idempotent). */
export async function takeKvmLease(root: string): Promise<() => Promise<void>> {
  const dir = leaseDir(root);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  counter += 1;
  const file = join(dir, `${process.pid}-${counter}`);
  await writeFile(file, `${process.pid}\n`);
  return () => rm(file, { force: true });
}

/** Number of leases held by live processes; removes the others. */
export async function liveKvmLeases(root: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(leaseDir(root));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
  let live = 0;
  for (const name of names) {
    const pid = Number.parseInt(name, 10);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) live += 1;
    else await rm(join(leaseDir(root), name), { force: true });
  }
  return live;
}

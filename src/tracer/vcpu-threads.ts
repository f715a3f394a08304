/**
 * Where a domain's vCPUs run: the QEMU pid from the pid file libvirt's QEMU driver writes
 * (`<runDir>/<name>.pid`, as for uptime in src/agent/process-start.ts), then the process's threads named
 * `CPU N/KVM` (`/proc/<pid>/task/*\/comm`; libvirt runs QEMU with debug-threads=on, which names them so).
 * Read again on a cadence by the tracer: vCPUs are hot-plugged, and a restarted domain has a new QEMU.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { TracerDomainError } from "./errors.ts";

export interface ProcPaths {
  /** libvirt's QEMU run directory (pid files). */
  runDir: string;
  /** Where /proc is mounted. */
  procRoot: string;
}

export const DEFAULT_PROC_PATHS: ProcPaths = { runDir: "/run/libvirt/qemu", procRoot: "/proc" };

const VCPU_THREAD = /^CPU (\d+)\/KVM$/;

/** The running domains' names: those with a pid file. */
export async function runningDomains(paths: ProcPaths): Promise<string[]> {
  const names = await readdir(paths.runDir).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith(".pid"))
    .map((n) => n.slice(0, -4))
    .sort();
}

/** The QEMU pid of a running domain; TracerDomainError when it has no (valid) pid file. */
export async function qemuPid(paths: ProcPaths, domain: string): Promise<number> {
  if (domain.includes("/")) throw new TracerDomainError(domain, "a domain name has no '/'");
  let text: string;
  try {
    text = await readFile(join(paths.runDir, `${domain}.pid`), "utf8");
  } catch (e) {
    throw new TracerDomainError(domain, "is not running here (no QEMU pid file)", { cause: e });
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new TracerDomainError(domain, "has a bad QEMU pid file");
  return pid;
}

/** The thread ids of the process's vCPU threads, by vCPU index (empty when the process is gone). */
export async function vcpuThreads(paths: ProcPaths, pid: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const tids = await readdir(join(paths.procRoot, String(pid), "task")).catch(() => [] as string[]);
  for (const tid of tids) {
    const comm = await readFile(join(paths.procRoot, String(pid), "task", tid, "comm"), "utf8").catch(
      () => "",
    );
    const vcpu = VCPU_THREAD.exec(comm.trim())?.[1];
    if (vcpu !== undefined) out.set(Number(vcpu), Number(tid));
  }
  return out;
}

/** A domain's vCPU threads: vCPU index by thread id (the key the tracer looks events up by). */
export async function domainThreads(paths: ProcPaths, domain: string): Promise<Map<number, number>> {
  const byVcpu = await vcpuThreads(paths, await qemuPid(paths, domain));
  return new Map([...byVcpu].map(([vcpu, tid]) => [tid, vcpu]));
}

/**
 * What the tracer's tests and fixture recorder need to know about a running QEMU: its pid (libvirt's pid file)
 * and its vCPU threads (named `CPU N/KVM` when libvirt runs QEMU with debug-threads=on, which it does).
 */
import { readdir, readFile } from "node:fs/promises";

/** The QEMU pid libvirt recorded for a running domain. */
export async function qemuPid(domain: string): Promise<number> {
  return Number((await readFile(`/var/run/libvirt/qemu/${domain}.pid`, "utf8")).trim());
}

/** Thread ids of the process's vCPU threads (comm `CPU N/KVM`), by vCPU index. */
export async function vcpuThreads(pid: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const comm = await readFile(`/proc/${pid}/task/${tid}/comm`, "utf8").catch(() => "");
    const vcpu = /^CPU (\d+)\/KVM$/.exec(comm.trim())?.[1];
    if (vcpu !== undefined) out.set(Number(vcpu), Number(tid));
  }
  return out;
}

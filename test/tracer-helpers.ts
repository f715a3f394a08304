/**
 * What the tracer's tests and fixture recorder need to know about a running QEMU: its pid (libvirt's pid file)
 * and its vCPU threads (named `CPU N/KVM` when libvirt runs QEMU with debug-threads=on, which it does), and
 * KVM's own count of emulated instructions (libvirt bulk stats) to know when the KVM guest runs its boot loop.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import {
  DEFAULT_PROC_PATHS,
  qemuPid as lookupPid,
  vcpuThreads as lookupThreads,
} from "../src/tracer/index.ts";
import { virsh } from "./libvirt-helpers.ts";

const URI = "qemu:///system";

/** The QEMU pid libvirt recorded for a running domain (src/tracer's lookup, as the agent does it). */
export const qemuPid = (domain: string): Promise<number> => lookupPid(DEFAULT_PROC_PATHS, domain);

/** Thread ids of the process's vCPU threads (comm `CPU N/KVM`), by vCPU index. */
export const vcpuThreads = (pid: number): Promise<Map<number, number>> =>
  lookupThreads(DEFAULT_PROC_PATHS, pid);

/** KVM's own counter of emulated instructions for vCPU 0, from libvirt's bulk stats. */
export async function insnEmulation(domain: string): Promise<number> {
  const out = await virsh(URI, "domstats", "--raw", "--vcpu", domain);
  const m = /vcpu\.0\.insn_emulation\.sum=(\d+)/.exec(out);
  assert.ok(m, `no vcpu.0.insn_emulation.sum in:\n${out}`);
  return Number(m[1]);
}

/**
 * Waits until the guest runs its boot-sector loop: SeaBIOS first emulates ~2 M instructions/s for about 2.5 s
 * (rep movs, each iteration emulated), then the loop runs at a few hundred thousand per second.
 */
export async function untilBootLoop(domain: string): Promise<void> {
  let prev = await insnEmulation(domain);
  let at = performance.now();
  for (const deadline = at + 30_000; performance.now() < deadline;) {
    await sleep(300);
    const now = await insnEmulation(domain);
    const rate = (now - prev) / ((performance.now() - at) / 1000);
    if (rate > 0 && rate < 800_000) return;
    [prev, at] = [now, performance.now()];
  }
  assert.fail(`${domain} still emulates over 800 k instructions/s after 30 s`);
}

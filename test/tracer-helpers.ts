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
import { BOOT_LOOP } from "../src/lab/bootsector.ts";
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

/** Where SeaBIOS loads the boot sector and jumps to it (0000:7c00). */
const BOOT_ADDRESS = 0x7c00;

/**
 * vCPU 0's instruction pointer and code segment from QEMU's monitor (`info registers`: EIP in real and protected
 * mode, RIP in long mode); undefined when the monitor's answer has neither.
 */
async function instructionPointer(domain: string): Promise<{ ip: number; cs: number } | undefined> {
  const regs = await virsh(URI, "qemu-monitor-command", domain, "--hmp", "info registers");
  const ip = /\b[ER]IP=([0-9a-f]+)/i.exec(regs)?.[1];
  const cs = /^CS =([0-9a-f]+)/im.exec(regs)?.[1];
  return ip === undefined || cs === undefined ? undefined : { ip: parseInt(ip, 16), cs: parseInt(cs, 16) };
}

/**
 * Waits until the guest runs its boot-sector loop: SeaBIOS first emulates ~2 M instructions/s for about 2.5 s
 * (rep movs, each iteration emulated), then the loop runs at a few hundred thousand per second. The rate alone
 * misleads on a loaded host (SeaBIOS slowed below the threshold looks like the loop), so the loop is known by
 * vCPU 0 executing at 0000:7c00 (the monitor's registers), twice in a row; the rate is the fallback where the
 * monitor does not say.
 */
export async function untilBootLoop(domain: string): Promise<void> {
  let prev = await insnEmulation(domain);
  let at = performance.now();
  let inLoop = 0;
  for (const deadline = at + 60_000; performance.now() < deadline;) {
    await sleep(300);
    const where = await instructionPointer(domain);
    if (where) {
      const atBoot = where.cs === 0 && where.ip >= BOOT_ADDRESS && where.ip < BOOT_ADDRESS + BOOT_LOOP.length;
      inLoop = atBoot ? inLoop + 1 : 0;
      if (inLoop >= 2) return;
      continue;
    }
    const now = await insnEmulation(domain);
    const rate = (now - prev) / ((performance.now() - at) / 1000);
    if (rate > 0 && rate < 800_000) return;
    [prev, at] = [now, performance.now()];
  }
  assert.fail(`${domain} has not reached its boot-sector loop after 60 s`);
}

/**
 * Workloads inside lab guests, for tests and benchmarks: CPU burn, disk writes and reads on the ext4 data
 * disk, and layer-2 / IPv6 link-local network traffic. The guest side is /usr/bin/kvmon-load (busybox sh,
 * see guest-files.ts), started through the guest agent. Every workload is bounded in size and time.
 * NETWORK RULE: never IPv4. Host -> guest is raw Ethernet frames; guest -> host is IPv6 link-local ping.
 */
import { networkInterfaces } from "node:os";
import { DATA_DISK_MIB } from "./config.ts";
import { parseDomainXml } from "./domain-xml.ts";
import { LabError } from "./errors.ts";
import { GUEST_LOAD_TOOL } from "./guest-files.ts";
import { guestExec } from "./guest-agent.ts";
import { sendFrames } from "./rawnet.ts";
import { defaultLabLibvirt, type LabLibvirt } from "./virsh.ts";

/** The one guest command runner of the lab lives in guest-agent.ts; workloads and tests use it from here too. */
export { guestExec } from "./guest-agent.ts";

export interface WorkloadOptions {
  libvirt?: LabLibvirt;
}

function lvOf(options: WorkloadOptions | undefined): LabLibvirt {
  return options?.libvirt ?? defaultLabLibvirt();
}

async function load(
  domain: string,
  args: string[],
  options: WorkloadOptions | undefined,
  timeoutMs = 120_000,
) {
  const r = await guestExec(domain, [GUEST_LOAD_TOOL, ...args], { ...options, timeoutMs });
  if (r.exitcode !== 0) {
    throw new LabError(
      `${domain}: kvmon-load ${args.join(" ")} exited ${r.exitcode}: ${(r.stderr || r.stdout).trim()}`,
    );
  }
  return r.stdout;
}

function checkInt(what: string, n: number, min: number, max: number): void {
  if (!Number.isInteger(n) || n < min || n > max)
    throw new LabError(`${what} must be ${min}..${max}, got ${n}`);
}

/** Labels a user's CPU workers, so concurrent tests stop only their own (letters, digits, - and _). */
function tagArgs(tag: string | undefined): string[] {
  if (tag === undefined) return [];
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(tag)) throw new LabError(`bad workload tag '${tag}'`);
  return [tag];
}

/**
 * Starts `workers` busy loops in the guest (one per vCPU saturates it); each ends after `seconds`.
 * With a `tag`, cpuWorkers and stopWorkload can count and stop just these workers.
 */
export async function burnCpu(
  domain: string,
  workers: number,
  options: WorkloadOptions & { seconds?: number; tag?: string } = {},
) {
  const seconds = options.seconds ?? 120;
  checkInt("workers", workers, 1, 64);
  checkInt("seconds", seconds, 1, 3600);
  await load(
    domain,
    ["cpu", String(workers), String(seconds), ...tagArgs(options.tag ?? "default")],
    options,
  );
}

/** Number of CPU workers still running in the guest (with `tag`: only those). */
export async function cpuWorkers(
  domain: string,
  options: WorkloadOptions & { tag?: string } = {},
): Promise<number> {
  return Number((await load(domain, ["running", ...tagArgs(options.tag)], options)).trim());
}

/** Ends the guest's CPU workers (with `tag`: only those). Disk and network loads end by themselves. */
export async function stopWorkload(
  domain: string,
  options: WorkloadOptions & { tag?: string } = {},
): Promise<void> {
  await load(domain, ["stop", ...tagArgs(options.tag)], options);
}

export interface DdResult {
  bytes: number;
  seconds: number;
}

/**
 * Parses kvmon-load's dd output. Debian's busybox dd prints only "N+P records in/out" (no byte summary),
 * so bytes = full records x 1 MiB (the block size kvmon-load uses), and the time is kvmon-load's own line.
 */
export function parseDd(output: string): DdResult {
  const records = /(\d+)\+(\d+) records out/.exec(output);
  const seconds = /kvmon-load: seconds ([\d.]+)/.exec(output);
  if (!records || !seconds) throw new LabError(`no dd summary in: ${output.trim().slice(0, 300)}`);
  return { bytes: Number(records[1]) * 1024 * 1024, seconds: Number(seconds[1]) };
}

/** Max MiB a write may take: the data disk minus room for ext4's metadata and journal. */
export const MAX_WRITE_MIB = DATA_DISK_MIB - 16;

/** Writes `mib` MiB to the data disk's file kvmon-load.bin, fsync'd before returning. */
export async function writeDisk(domain: string, mib: number, options?: WorkloadOptions): Promise<DdResult> {
  checkInt("MiB", mib, 1, MAX_WRITE_MIB);
  return parseDd(await load(domain, ["disk-write", String(mib)], options, 600_000));
}

/** Reads `mib` MiB from the data disk's block device with the guest's page cache dropped first. */
export async function readDisk(domain: string, mib: number, options?: WorkloadOptions): Promise<DdResult> {
  checkInt("MiB", mib, 1, DATA_DISK_MIB);
  return parseDd(await load(domain, ["disk-read", String(mib)], options, 600_000));
}

export interface NetworkLoad {
  /** "in": raw frames host -> guest on the tap; "out": IPv6 link-local echo requests guest -> host. */
  direction: "in" | "out";
  packets: number;
  /** Frame size (in) or ICMPv6 payload size (out), bytes. */
  size?: number;
  /** Upper bound on the time spent sending. */
  seconds?: number;
}

export interface NetworkResult {
  sent: number;
  /** Echo replies received (out only). */
  received?: number;
}

/** Parses busybox ping's summary line. */
export function parsePingSummary(output: string): { sent: number; received: number } {
  const m = /(\d+) packets transmitted, (\d+) packets received/.exec(output);
  if (!m) throw new LabError(`no ping summary in: ${output.trim().slice(0, 300)}`);
  return { sent: Number(m[1]), received: Number(m[2]) };
}

/** True for addresses this lab may send to: IPv6 link-local unicast (fe80::/10) or link-local multicast. */
export function isLinkLocalIpv6(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address) || /^ff02:/i.test(address);
}

/** The host tap and guest MAC of a running guest's (first) NIC, from its live XML. */
export async function guestNic(
  domain: string,
  options?: WorkloadOptions,
): Promise<{ tap: string; mac: string }> {
  const facts = parseDomainXml(await lvOf(options).dumpxml(domain));
  const tap = facts.taps[0];
  const mac = facts.macs[0];
  if (!tap || !mac) throw new LabError(`${domain}: no running NIC with a host tap (is it running?)`);
  return { tap, mac };
}

export async function sendNetwork(
  domain: string,
  spec: NetworkLoad,
  options?: WorkloadOptions,
): Promise<NetworkResult> {
  const seconds = spec.seconds ?? 30;
  checkInt("packets", spec.packets, 1, 1_000_000);
  const { tap, mac } = await guestNic(domain, options);
  if (spec.direction === "in") {
    const sent = await sendFrames({
      tap,
      dstMac: mac,
      frames: spec.packets,
      size: spec.size ?? 1000,
      seconds,
    });
    return { sent };
  }
  checkInt("seconds", seconds, 1, 600);
  const size = spec.size ?? 56;
  checkInt("size", size, 8, 1400);
  // The host's link-local address on the tap; without one, the all-nodes group (still link-local only).
  const hostAddr = networkInterfaces()[tap]?.find((a) => a.family === "IPv6" && isLinkLocalIpv6(a.address));
  const target = hostAddr?.address.replace(/%.*$/, "") ?? "ff02::1";
  if (!isLinkLocalIpv6(target)) throw new LabError(`refusing to send to non-link-local ${target}`);
  const out = await load(
    domain,
    ["net-out", target, String(spec.packets), String(size), String(seconds)],
    options,
    (seconds + 30) * 1000,
  ).catch((error: unknown) => {
    // ping exits 1 when some replies are missing; the summary is still the answer.
    if (error instanceof LabError && /packets transmitted/.test(error.message)) return error.message;
    throw error;
  });
  return parsePingSummary(out);
}

/**
 * `kvmon lab up` and `down`: host packages and daemons, the cached image, and N TCG guests defined, started
 * in parallel and waited for until their guest agents answer. Idempotent: running guests built from the
 * current image are kept; anything else named kvmon-lab-N that carries the lab marker is recreated.
 */
import { access, copyFile, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { waitForAgent } from "./guest-agent.ts";
import {
  DEFAULT_VMS,
  guestMac,
  guestNames,
  KVM_GUEST_NAME,
  LAB_PREFIX,
  MIN_FREE_BYTES_GUESTS,
} from "./config.ts";
import { consoleLogPath, consoleTail } from "./console-log.ts";
import type { LabContext } from "./context.ts";
import { ensureDaemons, LIBVIRTD, socketAnswers, stopDaemons } from "./daemons.ts";
import { guestDomainXml, parseDomainXml } from "./domain-xml.ts";
import { LabError, LabTimeoutError } from "./errors.ts";
import { ensurePackages, prepareHostDevices, requireFreeSpace, requireRoot } from "./host.ts";
import { ensureImage, type LabImage } from "./image.ts";
import { kvmStart, kvmStop } from "./kvm-guest.ts";
import { liveKvmLeases, takeKvmLease } from "./kvm-lease.ts";
import { withLabLock } from "./lock.ts";
import { waitingFor } from "./progress.ts";
import type { DomainListEntry } from "./virsh.ts";

export interface UpOptions {
  vms?: number;
  /** Also start the KVM boot-sector guest. */
  kvm?: boolean;
  /** Rebuild the image even when its inputs are unchanged. */
  rebuild?: boolean;
  /** Per-guest limit for the agent to answer after start (default 120 s; a TCG boot takes about 8 s). */
  agentTimeoutMs?: number;
}

export interface UpResult {
  guests: string[];
  image: LabImage;
  /** Guests that were already running from the current image. */
  reused: string[];
  seconds: number;
}

/** Host checks shared by every command that changes the lab. */
export async function prepareHost(ctx: LabContext): Promise<void> {
  requireRoot();
  await ensurePackages(ctx.progress);
  // After the packages (they create QEMU's user) and before libvirtd probes QEMU with it.
  await prepareHostDevices(ctx.progress);
  await ensureDaemons(ctx.progress);
}

export async function labUp(ctx: LabContext, options: UpOptions = {}): Promise<UpResult> {
  requireRoot();
  return withLabLock(ctx.paths.root, ctx.progress, () => up(ctx, options));
}

async function up(ctx: LabContext, options: UpOptions): Promise<UpResult> {
  const started = performance.now();
  await prepareHost(ctx);
  const image = await ensureImage(ctx.paths, ctx.progress, { rebuild: options.rebuild });
  const names = guestNames(options.vms ?? DEFAULT_VMS);
  const reused = await startGuests(ctx, image, names);
  throwFirst(await Promise.allSettled(names.map((name) => waitForGuest(ctx, name, options.agentTimeoutMs))));
  if (options.kvm) await kvmStart(ctx, image);
  const seconds = (performance.now() - started) / 1000;
  ctx.progress(`lab up: ${names.length} guest(s) answering in ${seconds.toFixed(1)} s`);
  return { guests: names, image, reused, seconds };
}

/**
 * Defines and starts the guests `names` (in parallel: boots overlap, which is most of the time saved),
 * keeping those already running from `image`. Returns the names that were kept.
 */
export async function startGuests(
  ctx: LabContext,
  image: LabImage,
  names: readonly string[],
): Promise<string[]> {
  await mkdir(ctx.paths.guests, { recursive: true, mode: 0o755 });
  await mkdir(ctx.paths.logs, { recursive: true, mode: 0o755 });
  const domains = await ctx.lv.list();
  const kept = await Promise.allSettled(
    names.map((name, i) =>
      ensureGuest(
        ctx,
        name,
        i + 1,
        image,
        domains.find((d) => d.name === name),
      ),
    ),
  );
  throwFirst(kept);
  const extras = domains.filter(
    (d) => d.name.startsWith(LAB_PREFIX) && d.name !== KVM_GUEST_NAME && !names.includes(d.name),
  );
  for (const extra of extras) {
    ctx.progress(`${extra.name}: also present (${extra.state}), left as is; 'kvmon lab down' removes it`);
  }
  return names.filter((_, i) => {
    const r = kept[i];
    return r?.status === "fulfilled" && r.value;
  });
}

function throwFirst(results: PromiseSettledResult<unknown>[]): void {
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed.length === 0) return;
  const first = failed[0]!.reason as Error;
  if (failed.length > 1 && first instanceof LabError) {
    const others = failed.slice(1).map((f) => (f.reason as Error).message.split("\n")[0]);
    first.message += `\n(also failed: ${others.join("; ")})`;
  }
  throw first;
}

/** Makes `name` run the current image. Returns true when the running guest was kept as is. */
async function ensureGuest(
  ctx: LabContext,
  name: string,
  index: number,
  image: LabImage,
  existing: DomainListEntry | undefined,
): Promise<boolean> {
  const { lv, paths, progress } = ctx;
  const disk = join(paths.guests, `${name}.qcow2`);
  let freshDisk = true;
  if (existing) {
    const facts = parseDomainXml(await lv.dumpxml(name, { inactive: true }));
    if (!facts.lab) {
      throw new LabError(
        `a domain named ${name} exists but was not made by the lab (no kvmon:lab metadata)`,
        {
          hint: `rename or remove it ('virsh undefine ${name}'); the lab never touches domains it did not create`,
        },
      );
    }
    const current = facts.lab.image === image.hash;
    if (current && existing.state === "running") {
      progress(`${name}: running, reused`);
      return true;
    }
    if (existing.state !== "shut off") await lv.destroy(name);
    // Redefining needs the old UUID or no old definition; the lab keeps no identity, so undefine.
    await lv.undefine(name);
    progress(`${name}: ${current ? "was stopped" : `image ${facts.lab.image} is stale`}, recreating`);
    freshDisk = !current || !(await fileExists(disk));
  }
  if (freshDisk) {
    await requireFreeSpace(paths.guests, MIN_FREE_BYTES_GUESTS, `the data disk of ${name}`);
    await copyFile(image.dataTemplate, disk);
  }
  await lv.define(
    guestDomainXml({
      name,
      imageHash: image.hash,
      kernel: image.kernel,
      initrd: image.initrd,
      dataDisk: disk,
      mac: guestMac(index),
      consoleLog: consoleLogPath(paths.logs, name),
    }),
  );
  await lv.start(name);
  progress(`${name}: started`);
  return false;
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

async function waitForGuest(ctx: LabContext, name: string, timeoutMs = 120_000): Promise<void> {
  try {
    const wait = waitForAgent(ctx.lv, name, timeoutMs);
    const ms = await waitingFor(ctx.progress, `${name}: its guest agent to answer guest-ping`, wait);
    ctx.progress(`${name}: guest agent answers (after ${(ms / 1000).toFixed(1)} s of waiting)`);
  } catch (error) {
    if (!(error instanceof LabTimeoutError)) throw error;
    const log = consoleLogPath(ctx.paths.logs, name);
    const tail = await consoleTail(log);
    throw new LabTimeoutError(`${error.message}\nlast console lines (${log}):\n${tail || "(empty)"}`, {
      hint: `watch it boot with 'virsh console ${name}'; 'kvmon lab up --rebuild' rebuilds the image`,
      cause: error,
    });
  }
}

export interface DownOptions {
  /** Also stop libvirtd and virtlogd. */
  daemons?: boolean;
}

/** Destroys and undefines lab domains only (prefix AND marker), removing their disks. Returns their names. */
export async function labDown(ctx: LabContext, options: DownOptions = {}): Promise<string[]> {
  requireRoot();
  if (!(await socketAnswers(LIBVIRTD.socket))) {
    ctx.progress("libvirtd is not running: no lab domains to remove");
    return [];
  }
  return withLabLock(ctx.paths.root, ctx.progress, async () => {
    const removed = await removeLabDomains(ctx);
    if (options.daemons) await stopDaemons(ctx.progress);
    return removed;
  });
}

/** Starts the KVM guest (host prepared first); see kvm-guest.ts. */
export async function labKvmStart(ctx: LabContext): Promise<void> {
  requireRoot();
  await withLabLock(ctx.paths.root, ctx.progress, async () => {
    await prepareHost(ctx);
    await kvmStart(ctx);
  });
}

/** Stops the KVM guest when it runs (the operator's `kvmon lab kvm stop`: regardless of leases). */
export async function labKvmStop(ctx: LabContext): Promise<void> {
  requireRoot();
  await withLabLock(ctx.paths.root, ctx.progress, () => kvmStop(ctx));
}

/** Stops the KVM guest unless a live process holds a lease on it (see kvm-lease.ts). */
export async function labKvmStopUnleased(ctx: LabContext): Promise<void> {
  requireRoot();
  await withLabLock(ctx.paths.root, ctx.progress, async () => {
    const users = await liveKvmLeases(ctx.paths.root);
    if (users === 0) await kvmStop(ctx);
    else ctx.progress(`${KVM_GUEST_NAME}: in use by ${users} other lease(s), left running`);
  });
}

/**
 * Runs `fn` with the KVM guest running, under a lease: concurrent users share one guest, and the last one
 * out stops it (it keeps a host core busy).
 */
export async function withKvmLease<T>(ctx: LabContext, fn: (name: string) => Promise<T>): Promise<T> {
  requireRoot();
  const release = await takeKvmLease(ctx.paths.root);
  try {
    await labKvmStart(ctx);
    return await fn(KVM_GUEST_NAME);
  } finally {
    await release();
    await labKvmStopUnleased(ctx);
  }
}

/** The libvirt part of `down`: every domain with the prefix and the marker, in parallel. */
export async function removeLabDomains(ctx: LabContext): Promise<string[]> {
  const { lv, paths, progress } = ctx;
  const lab = (await lv.list()).filter((d) => d.name.startsWith(LAB_PREFIX));
  // In parallel: destroying a QEMU process takes a second or two each.
  const results = await Promise.allSettled(
    lab.map(async (d) => {
      const facts = parseDomainXml(await lv.dumpxml(d.name, { inactive: true }));
      if (!facts.lab) {
        progress(`${d.name}: has the lab's prefix but no kvmon:lab metadata, not touched`);
        return undefined;
      }
      if (d.state !== "shut off") await lv.destroy(d.name);
      await lv.undefine(d.name);
      await rm(join(paths.guests, `${d.name}.qcow2`), { force: true });
      progress(`${d.name}: destroyed and undefined`);
      return d.name;
    }),
  );
  throwFirst(results);
  return results.flatMap((r) => (r.status === "fulfilled" && r.value ? [r.value] : []));
}

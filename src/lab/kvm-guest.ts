/**
 * The optional KVM guest: `<domain type='kvm'>` running the boot-sector loop. On this host's kvm_pvm it
 * keeps one host core busy whatever it runs, so it is started only on request (`lab up --kvm`,
 * `lab kvm start`, tests through withKvmGuest) and stopped after.
 */
import { access, constants, mkdir } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { KVM_GUEST_NAME } from "./config.ts";
import { consoleLogPath } from "./console-log.ts";
import { kvmDomainXml, parseDomainXml } from "./domain-xml.ts";
import { LabError, LabTimeoutError } from "./errors.ts";
import { ensureImage, type LabImage } from "./image.ts";
import { waitingFor } from "./progress.ts";
import type { LabContext } from "./context.ts";

/** Why KVM cannot be used here, or undefined when it can. */
export async function kvmUnavailableReason(ctx: LabContext): Promise<string | undefined> {
  try {
    await access("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch (error) {
    return `/dev/kvm is not usable (${(error as NodeJS.ErrnoException).code})`;
  }
  if (!(await ctx.lv.kvmSupported())) return "libvirt does not offer <domain type='kvm'> on this host";
  return undefined;
}

/** Defines (or redefines) and starts the KVM guest; waits until libvirt reports it running. */
export async function kvmStart(ctx: LabContext, image?: LabImage, timeoutMs = 30_000): Promise<void> {
  const { lv, paths, progress } = ctx;
  const reason = await kvmUnavailableReason(ctx);
  if (reason) {
    throw new LabError(`cannot start ${KVM_GUEST_NAME}: ${reason}`, {
      hint: "the TCG guests do not need KVM; only the KVM guest does",
    });
  }
  const img = image ?? (await ensureImage(paths, progress));
  const existing = (await lv.list()).find((d) => d.name === KVM_GUEST_NAME);
  if (existing) {
    const facts = parseDomainXml(await lv.dumpxml(KVM_GUEST_NAME, { inactive: true }));
    if (!facts.lab) throw new LabError(`a domain named ${KVM_GUEST_NAME} exists but was not made by the lab`);
    if (existing.state === "running" && facts.lab.image === img.hash) {
      progress(`${KVM_GUEST_NAME}: running, reused`);
      return;
    }
    if (existing.state !== "shut off") await lv.destroy(KVM_GUEST_NAME);
    await lv.undefine(KVM_GUEST_NAME);
  }
  await mkdir(paths.logs, { recursive: true, mode: 0o755 });
  await lv.define(
    kvmDomainXml({
      name: KVM_GUEST_NAME,
      imageHash: img.hash,
      bootDisk: img.bootDisk,
      consoleLog: consoleLogPath(paths.logs, KVM_GUEST_NAME),
    }),
  );
  await lv.start(KVM_GUEST_NAME);
  const running = async (): Promise<boolean> => {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
      if ((await lv.domstate(KVM_GUEST_NAME)) === "running") return true;
    }
    return false;
  };
  if (!(await waitingFor(progress, `${KVM_GUEST_NAME} to run`, running()))) {
    throw new LabTimeoutError(`${KVM_GUEST_NAME} not running ${timeoutMs / 1000} s after start`);
  }
  progress(`${KVM_GUEST_NAME}: running (boot-sector loop under KVM)`);
}

/** Powers the KVM guest off (it stays defined, so `lab status` shows it). No-op when not running. */
export async function kvmStop(ctx: LabContext): Promise<void> {
  const { lv, progress } = ctx;
  const existing = (await lv.list()).find((d) => d.name === KVM_GUEST_NAME);
  if (!existing || existing.state === "shut off") return;
  const facts = parseDomainXml(await lv.dumpxml(KVM_GUEST_NAME, { inactive: true }));
  if (!facts.lab) throw new LabError(`a domain named ${KVM_GUEST_NAME} exists but was not made by the lab`);
  await lv.destroy(KVM_GUEST_NAME);
  progress(`${KVM_GUEST_NAME}: stopped`);
}

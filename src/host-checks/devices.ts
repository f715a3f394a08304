/**
 * Device nodes libvirt's QEMU driver relies on, as a host with udev would have them. Without udev (containers,
 * minimal or brand-new machines) /dev/kvm stays root:root 0600, and QEMU, which libvirt runs as an unprivileged
 * user, cannot open it. libvirtd's capabilities cache then finds "KVM was enabled when probing, but it is not
 * available now" on every lookup and probes QEMU again (seconds each, serialised), so a `virsh define` takes
 * 40-85 s and callers see timeouts with no reason given. udev's rule gives /dev/kvm group kvm, mode 0660.
 * /dev/net/tun is opened by libvirtd itself (root) for tap NICs: only its presence matters.
 */
import { stat } from "node:fs/promises";
import { groupId, type QemuIdentity, readQemuIdentity } from "./qemu-user.ts";

/** A host set-up problem, stated for an operator: what is wrong, why it matters, and the command that fixes it. */
export interface HostProblem {
  /** Stable code, e.g. HOST_KVM_DEVICE_PERMISSIONS. */
  code: string;
  message: string;
  fix: string;
}

export const KVM_DEVICE = "/dev/kvm";
export const TUN_DEVICE = "/dev/net/tun";
/** The group and mode udev gives /dev/kvm. */
export const KVM_GROUP = "kvm";
export const KVM_MODE = 0o660;

export interface DeviceOwnership {
  uid: number;
  gid: number;
  /** Permission bits (mode & 0o777). */
  mode: number;
}

/** Whether `who` may open a node with `dev`'s ownership for reading and writing (POSIX classes, no ACLs). */
export function canReadWrite(dev: DeviceOwnership, who: Pick<QemuIdentity, "uid" | "groups">): boolean {
  if (who.uid === 0) return true;
  // The first class that applies decides, even when a later one would allow more (owner before group).
  const bits =
    who.uid === dev.uid
      ? (dev.mode >> 6) & 7
      : who.groups.includes(dev.gid)
        ? (dev.mode >> 3) & 7
        : dev.mode & 7;
  return (bits & 6) === 6;
}

export function formatMode(dev: DeviceOwnership): string {
  return `uid ${dev.uid} gid ${dev.gid} mode 0${dev.mode.toString(8).padStart(3, "0")}`;
}

async function ownership(path: string): Promise<DeviceOwnership | undefined> {
  try {
    const s = await stat(path);
    return { uid: s.uid, gid: s.gid, mode: s.mode & 0o777 };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export interface DeviceCheckOptions {
  /** Root of /etc for passwd, group and libvirt's qemu.conf (tests point it elsewhere). */
  etcRoot?: string;
  kvmDevice?: string;
  tunDevice?: string;
}

/**
 * /dev/kvm present but not usable by QEMU's user; undefined when usable, absent (QEMU then runs guests under
 * TCG, which is no set-up problem), or when libvirt's QEMU user does not exist yet (nothing installed).
 */
export async function checkKvmDevice(opts: DeviceCheckOptions = {}): Promise<HostProblem | undefined> {
  const path = opts.kvmDevice ?? KVM_DEVICE;
  const dev = await ownership(path);
  if (!dev) return undefined;
  const qemu = await readQemuIdentity(opts.etcRoot);
  if (!qemu || canReadWrite(dev, qemu)) return undefined;
  const kvmGid = await groupId(KVM_GROUP, opts.etcRoot);
  const inKvm = kvmGid !== undefined && qemu.groups.includes(kvmGid);
  return {
    code: "HOST_KVM_DEVICE_PERMISSIONS",
    message:
      `${path} (${formatMode(dev)}) cannot be opened by QEMU's user ${qemu.user} (uid ${qemu.uid}): libvirtd ` +
      "re-probes QEMU on every call, so defines and starts take a minute or time out (no udev on this host?)",
    fix: inKvm
      ? `chgrp ${KVM_GROUP} ${path} && chmod 0${KVM_MODE.toString(8)} ${path} (what udev does; 'kvmon lab up' does it)`
      : `add ${qemu.user} to a group that may open ${path}, e.g. 'usermod -aG ${KVM_GROUP} ${qemu.user}', then ` +
        `chgrp ${KVM_GROUP} ${path} && chmod 0${KVM_MODE.toString(8)} ${path}`,
  };
}

/** /dev/net/tun missing: libvirt cannot create tap NICs (type='ethernet', 'network', 'bridge'). */
export async function checkTunDevice(opts: DeviceCheckOptions = {}): Promise<HostProblem | undefined> {
  const path = opts.tunDevice ?? TUN_DEVICE;
  if (await ownership(path)) return undefined;
  return {
    code: "HOST_TUN_DEVICE_MISSING",
    message: `${path} is missing: libvirt cannot create tap network interfaces for guests`,
    fix: `mkdir -p /dev/net && mknod -m 0666 ${path} c 10 200 (what udev does; 'kvmon lab up' does it)`,
  };
}

/** One plain line per problem, for logs and `lab status`. */
export function formatHostProblem(p: HostProblem): string {
  return `host problem (${p.code}): ${p.message}; fix: ${p.fix}`;
}

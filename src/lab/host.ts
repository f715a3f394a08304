/**
 * Host prerequisites of the lab: running as root, enough free disk, the Debian packages installed, and the
 * device nodes set up as udev would (a host without udev leaves /dev/kvm root:root 0600, which QEMU's user
 * cannot open: see src/host-checks). Packages are checked with dpkg-query (fast, offline) and only missing ones
 * go to apt-get, so a warm `lab up` never touches the network.
 */
import { chmod, chown, mkdir, statfs } from "node:fs/promises";
import { dirname } from "node:path";
import {
  checkKvmDevice,
  checkTracefs,
  checkTunDevice,
  formatHostProblem,
  groupId,
  KVM_DEVICE,
  KVM_GROUP,
  KVM_MODE,
  TRACEFS_MOUNT,
  TUN_DEVICE,
} from "../host-checks/index.ts";
import { LAB_PACKAGES } from "./config.ts";
import { CommandError, LabError } from "./errors.ts";
import { run } from "./exec.ts";
import { type Progress, waitingFor } from "./progress.ts";

// dpkg-query's own field syntax, not a JS template
const DPKG_FORMAT = "${Package} ${db:Status-Abbrev}\n";

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: "noninteractive", NEEDRESTART_MODE: "a" };

export function requireRoot(): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new LabError("the lab needs root (it installs packages, starts libvirtd and defines VMs)", {
      hint: "run it as root, e.g. 'sudo ./bin/kvmon lab up'",
    });
  }
}

/** Fails with a clear message when `dir`'s filesystem has less than `bytes` free (creates `dir`). */
export async function requireFreeSpace(dir: string, bytes: number, what: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (free < bytes) {
    throw new LabError(
      `not enough disk space for ${what}: ${mib(free)} MiB free under ${dir}, ${mib(bytes)} MiB needed`,
      { hint: "free some space there, or point KVMON_LAB_DIR at a filesystem with more room" },
    );
  }
}

function mib(bytes: number): number {
  return Math.floor(bytes / 1024 / 1024);
}

/** Parses `dpkg-query -W -f '${Package} ${db:Status-Abbrev}\n'` output into the set of installed packages. */
export function parseInstalled(output: string): Set<string> {
  const installed = new Set<string>();
  for (const line of output.split("\n")) {
    const [name, status] = line.trim().split(/\s+/);
    // "ii" = desired install, currently installed; anything else (rc, un, iU) is not usable.
    if (name && status === "ii") installed.add(name.replace(/:.*$/, ""));
  }
  return installed;
}

export async function missingPackages(wanted: readonly string[] = LAB_PACKAGES): Promise<string[]> {
  let output = "";
  try {
    ({ stdout: output } = await run("dpkg-query", ["-W", "-f", DPKG_FORMAT, ...wanted], {
      timeoutMs: 30_000,
    }));
  } catch (error) {
    // dpkg-query exits 1 when some package is unknown to dpkg, but still prints the known ones.
    if (!(error instanceof CommandError) || error.exitCode !== 1) throw error;
    output = error.stdout;
  }
  const installed = parseInstalled(output);
  return wanted.filter((p) => !installed.has(p));
}

/** Installs whatever of LAB_PACKAGES is missing: apt-get update, then apt-get install. */
export async function ensurePackages(
  progress: Progress,
  wanted: readonly string[] = LAB_PACKAGES,
): Promise<void> {
  const missing = await missingPackages(wanted);
  if (missing.length === 0) {
    progress("packages: all installed");
    return;
  }
  progress(`packages: installing ${missing.join(" ")} (apt-get, a few minutes)`);
  const update = run("apt-get", ["update", "-qq"], {
    timeoutMs: 5 * 60_000,
    env: APT_ENV,
    hint: "check that Debian's apt sources are reachable ('apt-get update' by hand shows the details)",
  });
  await waitingFor(progress, "apt-get update", update);
  try {
    const install = run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], {
      timeoutMs: 20 * 60_000,
      env: APT_ENV,
    });
    await waitingFor(progress, `apt-get install of ${missing.length} package(s)`, install);
  } catch (error) {
    throw new LabError(`could not install ${missing.join(" ")}: ${(error as Error).message}`, {
      hint: `try 'apt-get install ${missing.join(" ")}' by hand to see which package fails and why`,
      cause: error,
    });
  }
  const still = await missingPackages(wanted);
  if (still.length > 0) {
    throw new LabError(`packages still missing after apt-get install: ${still.join(" ")}`, {
      hint: "look at 'dpkg --audit' and 'apt-get install -f'",
    });
  }
  progress("packages: installed");
}

/**
 * Sets up /dev/kvm and /dev/net/tun the way udev would on a host that has it: /dev/kvm group kvm, mode 0660
 * when QEMU's user cannot open it (left alone when it can, or when there is no /dev/kvm: guests then run
 * under TCG); /dev/net/tun created when missing; tracefs mounted, as systemd does at boot (the KVM exit tracer
 * reads it). Says what it changed; fails with the fix when it cannot.
 */
export async function prepareHostDevices(progress: Progress): Promise<void> {
  const kvm = await checkKvmDevice();
  if (kvm) {
    const gid = await groupId(KVM_GROUP);
    if (gid === undefined) {
      throw new LabError(`${formatHostProblem(kvm)}; there is no group ${KVM_GROUP} to give it`, {
        code: "LAB_HOST_DEVICE",
        hint: `create it ('groupadd --system ${KVM_GROUP}; usermod -aG ${KVM_GROUP} libvirt-qemu'), then 'kvmon lab up'`,
      });
    }
    await chown(KVM_DEVICE, 0, gid);
    await chmod(KVM_DEVICE, KVM_MODE);
    progress(
      `host: ${KVM_DEVICE} was not usable by QEMU's user (no udev here?); set group ${KVM_GROUP}, mode 0${KVM_MODE.toString(8)} as udev would`,
    );
    const still = await checkKvmDevice();
    if (still) throw new LabError(formatHostProblem(still), { code: "LAB_HOST_DEVICE", hint: still.fix });
  }
  if (await checkTracefs()) {
    await run("mount", ["-t", "tracefs", "nodev", TRACEFS_MOUNT], { timeoutMs: 10_000 });
    progress(
      `host: tracefs was not mounted (no systemd here?); mounted it on ${TRACEFS_MOUNT} as systemd would`,
    );
  }
  if (await checkTunDevice()) {
    await mkdir(dirname(TUN_DEVICE), { recursive: true, mode: 0o755 });
    await run("mknod", ["-m", "0666", TUN_DEVICE, "c", "10", "200"], { timeoutMs: 10_000 });
    progress(`host: ${TUN_DEVICE} was missing; created it (char 10:200, mode 0666) as udev would`);
  }
}

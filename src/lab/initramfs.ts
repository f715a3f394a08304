/**
 * Assembles the guest's initramfs: static busybox (and a link per applet), qemu-ga with the shared libraries
 * `ldd` lists and the dynamic loader, the kernel modules, and the text files from guest-files.ts. Returned
 * as a gzip'd newc cpio, ready for `<initrd>`.
 */
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { type CpioEntry, cpioArchive } from "./cpio.ts";
import { LabError } from "./errors.ts";
import { run } from "./exec.ts";
import { inittab, loadTool, osRelease, profile, qemuGaRunner, rcS } from "./guest-files.ts";

export const BUSYBOX = "/bin/busybox";
export const QEMU_GA = "/usr/sbin/qemu-ga";

/**
 * Library paths from `ldd` output: the "=> /path" of each line, and the loader, which ldd prints as a bare
 * absolute path ("/lib64/ld-linux-x86-64.so.2 (0x...)"). linux-vdso has no file and is skipped.
 */
export function parseLdd(output: string): string[] {
  const libs: string[] = [];
  for (const line of output.split("\n")) {
    const arrow = /=>\s*(\/\S+)\s*\(/.exec(line);
    const bare = /^\s*(\/\S+)\s*\(/.exec(line);
    if (/=>\s*not found/.test(line)) throw new Error(`ldd: missing library: ${line.trim()}`);
    const path = arrow?.[1] ?? bare?.[1];
    if (path && !libs.includes(path)) libs.push(path);
  }
  return libs;
}

/** Applet install paths from `busybox --list-full` ("bin/ls", "sbin/init", ...). */
export function parseApplets(output: string): string[] {
  return output
    .split("\n")
    .map((l) => l.trim().replace(/^\/+/, ""))
    .filter((l) => l.length > 0 && l !== "bin/busybox");
}

export async function qemuGaLibraries(): Promise<string[]> {
  const { stdout } = await run("ldd", [QEMU_GA], {
    timeoutMs: 10_000,
    hint: "is qemu-guest-agent installed? ('apt-get install qemu-guest-agent')",
  });
  return parseLdd(stdout);
}

export interface InitramfsInputs {
  kernelVersion: string;
  /** Module name and host path, in load order. */
  modules: readonly { name: string; path: string }[];
}

const DIRS = [
  "bin",
  "sbin",
  "usr",
  "usr/bin",
  "usr/sbin",
  "lib",
  "lib/modules",
  "lib64",
  "etc",
  "etc/init.d",
  "dev",
  "proc",
  "sys",
  "run",
  "tmp",
  "mnt",
  "root",
  "var",
];

/** Builds the archive entries (exported for tests of the layout) ... */
export async function initramfsEntries(inputs: InitramfsInputs): Promise<CpioEntry[]> {
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const addDir = (path: string) => {
    if (path === "." || path === "" || dirs.has(path)) return;
    addDir(dirname(path));
    dirs.add(path);
    entries.push({ type: "dir", path });
  };
  const file = (path: string, data: Uint8Array | string, mode = 0o644) => {
    addDir(dirname(path));
    entries.push({ type: "file", path, data: typeof data === "string" ? Buffer.from(data) : data, mode });
  };
  for (const d of DIRS) addDir(d);
  entries.push({ type: "char", path: "dev/console", major: 5, minor: 1 });
  entries.push({ type: "char", path: "dev/null", major: 1, minor: 3, mode: 0o666 });
  entries.push({ type: "symlink", path: "var/run", target: "/run" });

  file("bin/busybox", await readFile(BUSYBOX), 0o755);
  const { stdout } = await run(BUSYBOX, ["--list-full"], { timeoutMs: 10_000 });
  const taken = new Set(["bin/busybox", "init"]);
  for (const applet of parseApplets(stdout)) {
    if (taken.has(applet)) continue;
    taken.add(applet);
    addDir(dirname(applet));
    entries.push({ type: "symlink", path: applet, target: "/bin/busybox" });
  }
  // The kernel runs /init; busybox init then reads /etc/inittab.
  file("init", "#!/bin/sh\nexec /bin/busybox init\n", 0o755);

  file(QEMU_GA.slice(1), await readFile(QEMU_GA), 0o755);
  for (const lib of await qemuGaLibraries()) file(lib.slice(1), await readFile(lib), 0o755);

  for (const m of inputs.modules) file(`lib/modules/${m.name}.ko`, await readFile(m.path));

  file("etc/inittab", inittab());
  file("etc/init.d/rcS", rcS(inputs.modules.map((m) => m.name)), 0o755);
  file("etc/init.d/qemu-ga", qemuGaRunner(), 0o755);
  file("etc/profile", profile());
  file("etc/os-release", osRelease(inputs.kernelVersion));
  file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  file("etc/group", "root:x:0:\n");
  file("usr/bin/kvmon-load", loadTool(), 0o755);
  return entries;
}

/** The gzip'd initramfs bytes. */
export async function buildInitramfs(inputs: InitramfsInputs): Promise<Buffer> {
  const entries = await initramfsEntries(inputs);
  if (!entries.some((e) => e.path === "usr/sbin/qemu-ga"))
    throw new LabError("qemu-ga missing from initramfs");
  return promisify(gzip)(cpioArchive(entries), { level: 6 });
}

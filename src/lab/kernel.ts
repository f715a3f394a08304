/**
 * The guest kernel: Debian's 6.1 kernel package, downloaded (not installed: installing runs update-initramfs
 * for the host, slow and useless here) with `apt-get download` and unpacked with `dpkg-deb -x`. The package
 * stays cached under the lab's downloads/ so later image builds need no network.
 */
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { CommandError, LabError } from "./errors.ts";
import { run } from "./exec.ts";
import { loadOrder, moduleDepends, normalizeModuleName } from "./modules.ts";
import { type Progress, waitingFor } from "./progress.ts";

/** What the guest needs beyond the built-in drivers (Debian builds virtio and ext4 as modules). */
export const GUEST_MODULES = [
  "virtio_pci",
  "virtio_console",
  "virtio_net",
  "virtio_blk",
  "virtio_balloon",
  // ext4 and jbd2 ask the crypto API for crc32c (a softdep, not in depends=); qemu64 lacks SSE4.2, so the
  // generic implementation, loaded before them.
  "crc32c_generic",
  "ext4",
] as const;

const KERNEL_PACKAGE_RE = /^linux-image-6\.1\.\d+-\d+-amd64$/;

/** Finds the versioned 6.1 image package in `apt-cache depends linux-image-amd64` output. */
export function parseKernelDepends(output: string): string | undefined {
  for (const line of output.split("\n")) {
    const m = /^\s*Depends:\s*(\S+)/.exec(line);
    if (m && KERNEL_PACKAGE_RE.test(m[1]!)) return m[1];
  }
  return undefined;
}

/** Cached kernel packages in `dir`, newest version last (Debian file names sort by version within 6.1). */
export function pickCachedDeb(files: readonly string[]): string | undefined {
  const debs = files.filter((f) => /^linux-image-6\.1\.\d+-\d+-amd64_.+_amd64\.deb$/.test(f));
  debs.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  return debs.at(-1);
}

async function resolvePackageName(): Promise<string | undefined> {
  const { stdout } = await run("apt-cache", ["depends", "linux-image-amd64"], { timeoutMs: 60_000 });
  return parseKernelDepends(stdout);
}

/** Path to the kernel .deb: the cached one, else downloads it (running apt-get update first if needed). */
export async function kernelPackage(downloads: string, progress: Progress): Promise<string> {
  await mkdir(downloads, { recursive: true, mode: 0o755 });
  const cached = pickCachedDeb(await readdir(downloads));
  if (cached) return join(downloads, cached);
  // On a fresh machine apt's lists may be empty (apt-cache fails or finds nothing): update, then retry.
  let name = await resolvePackageName().catch((error: unknown) => {
    if (error instanceof CommandError) return undefined;
    throw error;
  });
  if (!name) {
    progress("kernel: apt-get update (package lists are empty or stale)");
    await waitingFor(
      progress,
      "apt-get update",
      run("apt-get", ["update", "-qq"], { timeoutMs: 5 * 60_000 }),
    );
    name = await resolvePackageName();
  }
  if (!name) {
    throw new LabError("cannot find a linux-image-6.1.*-amd64 package in apt's lists", {
      hint: "this lab expects Debian 12 (bookworm) apt sources; check /etc/apt/sources.list*",
    });
  }
  progress(`kernel: apt-get download ${name}`);
  const download = run("apt-get", ["download", "-qq", "-o", "APT::Sandbox::User=root", name], {
    timeoutMs: 10 * 60_000,
    cwd: downloads,
    hint: `try 'apt-get download ${name}' by hand`,
  });
  await waitingFor(progress, `apt-get download ${name}`, download);
  const got = pickCachedDeb(await readdir(downloads));
  if (!got) throw new LabError(`apt-get download ${name} left no .deb in ${downloads}`);
  return join(downloads, got);
}

export interface ExtractedKernel {
  version: string;
  vmlinuz: string;
  /** GUEST_MODULES and their dependencies, in load order. */
  modules: { name: string; path: string }[];
  /** Removes the unpacked package (about 400 MiB). */
  cleanup: () => Promise<void>;
}

/** Unpacks the package into a temporary directory under `workParent` and resolves the module load order. */
export async function extractKernel(deb: string, workParent: string): Promise<ExtractedKernel> {
  const dir = await mkdtemp(join(workParent, "kernel-"));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await run("dpkg-deb", ["-x", deb, dir], { timeoutMs: 5 * 60_000 });
    const vmlinuzName = (await readdir(join(dir, "boot"))).find((f) => f.startsWith("vmlinuz-"));
    if (!vmlinuzName) throw new LabError(`no boot/vmlinuz-* in ${basename(deb)}`);
    const version = vmlinuzName.slice("vmlinuz-".length);
    const files = await listModules(join(dir, "lib", "modules", version, "kernel"));
    // Reads only the modules the closure visits, not all ~4000 files.
    const resolved = await loadOrderAsync(GUEST_MODULES, files);
    return {
      version,
      vmlinuz: join(dir, "boot", vmlinuzName),
      modules: resolved.map((name) => ({ name, path: files.get(name)! })),
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Reads depends= of the modules reachable from `wanted` (breadth first), then orders them. */
async function loadOrderAsync(
  wanted: readonly string[],
  files: ReadonlyMap<string, string>,
): Promise<string[]> {
  const deps = new Map<string, string[]>();
  const queue = wanted.map(normalizeModuleName);
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (deps.has(name)) continue;
    const path = files.get(name);
    if (!path) continue; // loadOrder reports it with the module that needed it
    const needs = moduleDepends(await readFile(path));
    deps.set(name, needs);
    queue.push(...needs);
  }
  return loadOrder(wanted, (n) => deps.get(n));
}

/** Module name -> path for every .ko under `dir`. */
async function listModules(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".ko")) {
      out.set(normalizeModuleName(entry.name), join(entry.parentPath, entry.name));
    }
  }
  return out;
}

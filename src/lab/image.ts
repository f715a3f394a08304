/**
 * The lab image, built once and cached under <lab>/image: kernel, initramfs, an ext4 data-disk template and
 * the KVM boot disk. A manifest records the hash of every input (kernel package, busybox, qemu-ga and its
 * libraries, the guest scripts, this builder's version); `lab up` rebuilds only when that hash changes.
 */
import { createHash } from "node:crypto";
import { access, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { bootDiskImage } from "./bootsector.ts";
import { DATA_DISK_MIB, type LabPaths, MIN_FREE_BYTES_BUILD } from "./config.ts";
import { LabError } from "./errors.ts";
import { run } from "./exec.ts";
import { inittab, loadTool, qemuGaRunner, rcS } from "./guest-files.ts";
import { requireFreeSpace } from "./host.ts";
import { BUSYBOX, buildInitramfs, QEMU_GA, qemuGaLibraries } from "./initramfs.ts";
import { extractKernel, GUEST_MODULES, kernelPackage } from "./kernel.ts";
import { type Progress, waitingFor } from "./progress.ts";

/** Bump when the image layout changes in a way the hashed inputs do not show. */
const IMAGE_FORMAT = 3;

export interface LabImage {
  hash: string;
  kernelVersion: string;
  kernel: string;
  initrd: string;
  dataTemplate: string;
  bootDisk: string;
  /** Modules in the order the guest loads them. */
  modules: string[];
}

interface Manifest extends Omit<LabImage, "kernel" | "initrd" | "dataTemplate" | "bootDisk"> {
  builtAt: string;
  buildSeconds: number;
}

async function sha256File(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

/** Hash of everything the image is made from; cheap enough (~10 MiB hashed) to run on every `lab up`. */
export async function imageInputsHash(kernelDeb: string): Promise<string> {
  const h = createHash("sha256");
  const debStat = await stat(kernelDeb);
  h.update(`format ${IMAGE_FORMAT}\nkernel ${basename(kernelDeb)} ${debStat.size}\n`);
  h.update(`modules ${GUEST_MODULES.join(",")}\ndata ${DATA_DISK_MIB}\n`);
  for (const path of [BUSYBOX, QEMU_GA, ...(await qemuGaLibraries())]) {
    h.update(`file ${path} ${await sha256File(path)}\n`);
  }
  for (const text of [inittab(), rcS(GUEST_MODULES), qemuGaRunner(), loadTool()]) h.update(text);
  return h.digest("hex").slice(0, 16);
}

function imageFiles(dir: string) {
  return {
    kernel: join(dir, "vmlinuz"),
    initrd: join(dir, "initrd.gz"),
    dataTemplate: join(dir, "data.qcow2"),
    bootDisk: join(dir, "bootsector.img"),
    manifest: join(dir, "manifest.json"),
  };
}

async function readManifest(dir: string): Promise<LabImage | undefined> {
  const files = imageFiles(dir);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(files.manifest, "utf8")) as Manifest;
    await Promise.all([files.kernel, files.initrd, files.dataTemplate, files.bootDisk].map((f) => access(f)));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || error instanceof SyntaxError) return undefined;
    throw error;
  }
  const { builtAt: _b, buildSeconds: _s, ...image } = manifest;
  return { ...image, ...files };
}

/** The cached image when its inputs are unchanged, else a fresh build. */
export async function ensureImage(
  paths: LabPaths,
  progress: Progress,
  options: { rebuild?: boolean } = {},
): Promise<LabImage> {
  const cached = options.rebuild ? undefined : await readManifest(paths.image);
  // Check before the kernel download too: a first build needs room for the package and its unpacking.
  if (!cached) await requireFreeSpace(paths.root, MIN_FREE_BYTES_BUILD, "building the lab image");
  const deb = await kernelPackage(paths.downloads, progress);
  const hash = await imageInputsHash(deb);
  if (cached?.hash === hash) {
    progress(`image: cached (${hash}, kernel ${cached.kernelVersion})`);
    return cached;
  }
  progress(
    cached ? `image: inputs changed (${cached.hash} -> ${hash}), rebuilding` : `image: building ${hash}`,
  );
  await requireFreeSpace(paths.root, MIN_FREE_BYTES_BUILD, "building the lab image");
  return buildImage(paths, deb, hash, progress);
}

async function buildImage(paths: LabPaths, deb: string, hash: string, progress: Progress): Promise<LabImage> {
  const started = performance.now();
  const staging = `${paths.image}.new`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true, mode: 0o755 });
  const files = imageFiles(staging);

  progress(`image: unpacking ${basename(deb)} (dpkg-deb -x)`);
  const kernel = await waitingFor(progress, "dpkg-deb to unpack the kernel", extractKernel(deb, paths.root));
  try {
    progress(`image: kernel ${kernel.version}, modules ${kernel.modules.map((m) => m.name).join(" ")}`);
    await writeFile(files.kernel, await readFile(kernel.vmlinuz));
    const initrd = await buildInitramfs({ kernelVersion: kernel.version, modules: kernel.modules });
    await writeFile(files.initrd, initrd);
    progress(`image: initramfs ${(initrd.length / 1024 / 1024).toFixed(1)} MiB (gzip cpio)`);
  } finally {
    await kernel.cleanup();
  }

  await buildDataTemplate(files.dataTemplate, staging);
  progress(`image: ext4 data disk template ${DATA_DISK_MIB} MiB (qcow2)`);
  await writeFile(files.bootDisk, bootDiskImage());

  const manifest: Manifest = {
    hash,
    kernelVersion: kernel.version,
    modules: kernel.modules.map((m) => m.name),
    builtAt: new Date().toISOString(),
    buildSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
  await writeFile(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  // Swap in the new image whole; running guests already have their kernel and initrd loaded.
  const old = `${paths.image}.old`;
  await rm(old, { recursive: true, force: true });
  await rename(paths.image, old).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
  await rename(staging, paths.image);
  await rm(old, { recursive: true, force: true });
  progress(`image: built in ${manifest.buildSeconds} s`);
  const image = await readManifest(paths.image);
  if (!image) throw new LabError(`image in ${paths.image} is incomplete right after building it`);
  return image;
}

/**
 * A qcow2 holding a fresh ext4 filesystem. mkfs runs on a raw file (mkfs cannot write qcow2), with lazy init
 * off so the guest's ext4lazyinit thread does not write in the background and blur disk statistics.
 */
async function buildDataTemplate(target: string, workDir: string): Promise<void> {
  const raw = join(workDir, "data.raw");
  await writeFile(raw, "");
  await run("truncate", ["-s", `${DATA_DISK_MIB}M`, raw], { timeoutMs: 10_000 });
  await run(
    "mkfs.ext4",
    ["-q", "-F", "-L", "kvmon-data", "-E", "lazy_itable_init=0,lazy_journal_init=0", "-m", "0", raw],
    { timeoutMs: 60_000, hint: "mkfs.ext4 comes with e2fsprogs" },
  );
  await run("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", raw, target], { timeoutMs: 60_000 });
  await rm(raw);
}

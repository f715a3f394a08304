/**
 * The flags QEMU really opened each image with, without a debugger at qemu_open: every `/proc/<pid>/fd/<n>`
 * whose link target is an image path, and the `flags:` line (octal, the file's f_flags) of
 * `/proc/<pid>/fdinfo/<n>`. x86-64 (asm-generic) values: O_ACCMODE 03, O_DSYNC 010000, O_DIRECT 040000,
 * O_SYNC 04010000 (__O_SYNC | O_DSYNC). QEMU may hold several descriptors on one image (it reopens to change
 * read-only/write and for image locking), so each is reported.
 */
import { readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { OpenImage } from "./types.ts";

export const O_ACCMODE = 0o3;
export const O_DSYNC = 0o10000;
export const O_DIRECT = 0o40000;
export const O_SYNC = 0o4010000;

const ACCESS = ["read-only", "write-only", "read-write"] as const;

/** Decodes fdinfo's octal `flags:` value. */
export function decodeOpenFlags(flagsOctal: string): Omit<OpenImage, "fd" | "path"> {
  const flags = Number.parseInt(flagsOctal, 8);
  return {
    flagsOctal,
    access: ACCESS[flags & O_ACCMODE] ?? "read-write",
    direct: (flags & O_DIRECT) !== 0,
    dsync: (flags & O_DSYNC) !== 0,
    sync: (flags & O_SYNC) === O_SYNC,
  };
}

/** The `flags:` field of an fdinfo file's text, or null. */
export function fdinfoFlags(text: string): string | null {
  return /^flags:\s*([0-7]+)$/m.exec(text)?.[1] ?? null;
}

/**
 * The descriptors of process `pid` open on one of `paths` (compared as the kernel resolves the link: an
 * absolute path without symlinks, so callers pass real paths). A descriptor closed meanwhile is skipped.
 */
export async function openImages(
  procRoot: string,
  pid: number,
  paths: ReadonlySet<string>,
): Promise<OpenImage[]> {
  const dir = join(procRoot, String(pid));
  const out: OpenImage[] = [];
  for (const name of await readdir(join(dir, "fd"))) {
    const path = await readlink(join(dir, "fd", name)).catch(() => null);
    if (path === null || !paths.has(path)) continue;
    const info = await readFile(join(dir, "fdinfo", name), "utf8").catch(() => null);
    const flags = info === null ? null : fdinfoFlags(info);
    if (flags === null) continue;
    out.push({ fd: Number(name), path, ...decodeOpenFlags(flags) });
  }
  return out.sort((a, b) => a.fd - b.fd);
}

/**
 * A writer for the cpio "newc" format the kernel unpacks as initramfs (Documentation/driver-api/
 * early-userspace/buffer-format.rst). Written here instead of piping a staging tree through `cpio` so the
 * archive needs no root-owned staging directory, device nodes (/dev/console) need no mknod on the host, and
 * the bytes are deterministic (fixed mtime, uid 0), which keeps the image hash stable.
 */

export type CpioEntry =
  | { type: "dir"; path: string; mode?: number }
  | { type: "file"; path: string; data: Uint8Array; mode?: number }
  | { type: "symlink"; path: string; target: string }
  | { type: "char"; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = "TRAILER!!!";

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, "0");
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(fields: {
  ino: number;
  mode: number;
  nlink: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  nameSize: number;
}): string {
  return [
    "070701",
    hex8(fields.ino),
    hex8(fields.mode),
    hex8(0), // uid: root
    hex8(0), // gid: root
    hex8(fields.nlink),
    hex8(0), // mtime: fixed, for reproducible archives
    hex8(fields.size),
    hex8(0), // devmajor
    hex8(0), // devminor
    hex8(fields.rdevMajor),
    hex8(fields.rdevMinor),
    hex8(fields.nameSize),
    hex8(0), // check: unused by newc
  ].join("");
}

/** Paths are stored relative ("bin/sh"), as the kernel expects; a leading "/" is dropped. */
function archivePath(path: string): string {
  const p = path.replace(/^\/+/, "");
  if (p === "" || p.split("/").includes("..")) throw new Error(`bad cpio path: '${path}'`);
  return p;
}

/** Builds a newc archive of `entries`, in order (parents must come before children), plus the trailer. */
export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (buf: Buffer) => {
    parts.push(buf);
    offset += buf.length;
  };
  const record = (name: string, mode: number, data: Uint8Array, ino: number, rdev: [number, number]) => {
    const nameBytes = Buffer.from(`${name}\0`, "utf8");
    const head = header({
      ino,
      mode,
      nlink: (mode & 0o170000) === S_IFDIR ? 2 : 1,
      size: data.length,
      rdevMajor: rdev[0],
      rdevMinor: rdev[1],
      nameSize: nameBytes.length,
    });
    push(Buffer.from(head, "ascii"));
    push(nameBytes);
    push(Buffer.alloc(pad4(offset)));
    push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    push(Buffer.alloc(pad4(offset)));
  };
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    const path = archivePath(e.path);
    if (seen.has(path)) throw new Error(`duplicate cpio path: '${path}'`);
    seen.add(path);
    const ino = i + 1;
    switch (e.type) {
      case "dir":
        record(path, S_IFDIR | (e.mode ?? 0o755), new Uint8Array(), ino, [0, 0]);
        break;
      case "file":
        record(path, S_IFREG | (e.mode ?? 0o644), e.data, ino, [0, 0]);
        break;
      case "symlink":
        record(path, S_IFLNK | 0o777, Buffer.from(e.target, "utf8"), ino, [0, 0]);
        break;
      case "char":
        record(path, S_IFCHR | (e.mode ?? 0o600), new Uint8Array(), ino, [e.major, e.minor]);
        break;
    }
  });
  record(TRAILER, 0, new Uint8Array(), 0, [0, 0]);
  return Buffer.concat(parts);
}

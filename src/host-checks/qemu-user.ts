/**
 * Who QEMU runs as under libvirt's system driver: the `user`/`group` of /etc/libvirt/qemu.conf (Debian builds
 * libvirt with libvirt-qemu:libvirt-qemu as the default), resolved through /etc/passwd and /etc/group the way
 * libvirt does before it starts QEMU: the configured uid and gid, plus the user's primary group and every group
 * that lists the user (getgrouplist). Read from files with an injectable root so tests need no such host.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export const DEFAULT_QEMU_USER = "libvirt-qemu";
export const DEFAULT_QEMU_GROUP = "libvirt-qemu";

export interface QemuIdentity {
  /** As configured (a name, or "+N" for a numeric id). */
  user: string;
  uid: number;
  gid: number;
  /** Every group QEMU's process holds: gid, the user's primary group, and the groups that list the user. */
  groups: number[];
}

/** `user = "..."` and `group = "..."` of a qemu.conf text (commented lines ignored). */
export function qemuConfIdentity(text: string): { user: string; group: string } {
  const value = (key: string) =>
    new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, "m").exec(text)?.[1] ?? undefined;
  return { user: value("user") ?? DEFAULT_QEMU_USER, group: value("group") ?? DEFAULT_QEMU_GROUP };
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string): PasswdEntry[] {
  return rows(text).flatMap(([name, , uid, gid]) =>
    name && isId(uid) && isId(gid) ? [{ name, uid: Number(uid), gid: Number(gid) }] : [],
  );
}

export function parseGroup(text: string): GroupEntry[] {
  return rows(text).flatMap(([name, , gid, members]) =>
    name && isId(gid)
      ? [{ name, gid: Number(gid), members: (members ?? "").split(",").filter(Boolean) }]
      : [],
  );
}

function rows(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => l.split(":"));
}

function isId(s: string | undefined): s is string {
  return s !== undefined && /^\d+$/.test(s);
}

/**
 * QEMU's identity from qemu.conf, passwd and group texts; undefined when the user does not exist (libvirt is
 * not installed yet, or is configured for a user this host lacks).
 */
export function resolveQemuIdentity(
  qemuConf: string,
  passwd: string,
  group: string,
): QemuIdentity | undefined {
  const conf = qemuConfIdentity(qemuConf);
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  const numeric = (s: string) => (/^\+\d+$/.test(s) ? Number(s.slice(1)) : undefined);
  const entry = users.find((u) => u.name === conf.user || u.uid === numeric(conf.user));
  const uid = entry?.uid ?? numeric(conf.user);
  if (uid === undefined) return undefined;
  const gid = groups.find((g) => g.name === conf.group)?.gid ?? numeric(conf.group) ?? entry?.gid;
  if (gid === undefined) return undefined;
  const held = new Set([gid]);
  if (entry) {
    held.add(entry.gid);
    for (const g of groups) if (g.members.includes(entry.name)) held.add(g.gid);
  }
  return { user: conf.user, uid, gid, groups: [...held].sort((a, b) => a - b) };
}

/** Reads QEMU's identity from `<root>/etc/libvirt/qemu.conf`, `<root>/etc/passwd` and `<root>/etc/group`. */
export async function readQemuIdentity(root = "/"): Promise<QemuIdentity | undefined> {
  const read = (path: string) => readFile(join(root, path), "utf8").catch(() => "");
  const [conf, passwd, group] = await Promise.all([
    read("etc/libvirt/qemu.conf"),
    read("etc/passwd"),
    read("etc/group"),
  ]);
  return resolveQemuIdentity(conf, passwd, group);
}

/** The gid of group `name` in `<root>/etc/group`, or undefined when there is no such group. */
export async function groupId(name: string, root = "/"): Promise<number | undefined> {
  const text = await readFile(join(root, "etc/group"), "utf8").catch(() => "");
  return parseGroup(text).find((g) => g.name === name)?.gid;
}

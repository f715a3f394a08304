/**
 * The agent's identity on every snapshot, so a fleet server can tell hosts apart: the host name, and a host
 * UUID that survives renames and reinstalls of the agent. The UUID is the DMI product UUID
 * (/sys/class/dmi/id/product_uuid, readable by root only, the same id libvirt's sysinfo reports), else the
 * systemd machine-id (/etc/machine-id, world-readable, written at OS install), formatted as a UUID; null when
 * neither can be read. `root` is injectable for tests (like procRoot).
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { AgentIdentity } from "../model/types.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MACHINE_ID = /^[0-9a-f]{32}$/;
/** Firmware placeholders that many boards ship instead of a real UUID. */
const PLACEHOLDERS = new Set([
  "00000000-0000-0000-0000-000000000000",
  "ffffffff-ffff-ffff-ffff-ffffffffffff",
]);

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim().toLowerCase();
  } catch {
    return null; // absent or not readable by this user: try the next source
  }
}

export function readHostUuid(root = "/"): string | null {
  const dmi = read(join(root, "sys/class/dmi/id/product_uuid"));
  if (dmi !== null && UUID.test(dmi) && !PLACEHOLDERS.has(dmi)) return dmi;
  const mid = read(join(root, "etc/machine-id"));
  if (mid === null || !MACHINE_ID.test(mid)) return null;
  return `${mid.slice(0, 8)}-${mid.slice(8, 12)}-${mid.slice(12, 16)}-${mid.slice(16, 20)}-${mid.slice(20)}`;
}

export function readIdentity(root = "/"): AgentIdentity {
  return { hostname: hostname(), hostUuid: readHostUuid(root) };
}

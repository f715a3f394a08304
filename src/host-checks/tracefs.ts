/**
 * tracefs, which the KVM exit tracer reads. A host with systemd mounts it at boot (sys-kernel-tracing.mount);
 * without systemd as PID 1 (containers, minimal machines like CI's) nothing does, and the tracer cannot start.
 */
import { readFile } from "node:fs/promises";
import type { HostProblem } from "./devices.ts";

export const TRACEFS_MOUNT = "/sys/kernel/tracing";

/** Mount points of every tracefs in a /proc/mounts text (also the old debugfs place, /sys/kernel/debug/tracing). */
export function tracefsMounts(procMounts: string): string[] {
  return procMounts
    .split("\n")
    .map((line) => line.split(" "))
    .filter((f) => f[2] === "tracefs" && f[1] !== undefined)
    .map((f) => f[1]!);
}

export async function checkTracefs(procMounts = "/proc/mounts"): Promise<HostProblem | undefined> {
  const text = await readFile(procMounts, "utf8").catch(() => "");
  if (tracefsMounts(text).length > 0) return undefined;
  return {
    code: "HOST_TRACEFS_NOT_MOUNTED",
    message: "tracefs is not mounted (no systemd here?): the KVM exit tracer cannot run",
    fix: `mount -t tracefs nodev ${TRACEFS_MOUNT} (what systemd does at boot; 'kvmon lab up' does it)`,
  };
}

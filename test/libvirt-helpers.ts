/** Small helpers shared by the libvirt integration tests: virsh as the witness, a client scoped to a callback, a throwaway domain. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { labPaths } from "../src/lab/config.ts";
import { LibvirtClient, type LibvirtClientOptions } from "../src/protocol/libvirt/index.ts";

export const exec = promisify(execFile);

/** `virsh -q -c <uri> ...args`, stdout (30 s timeout; output up to 64 MiB, bulk stats can be large). */
export async function virsh(uri: string, ...args: string[]): Promise<string> {
  return (await exec("virsh", ["-q", "-c", uri, ...args], { timeout: 30_000, maxBuffer: 64 << 20 })).stdout;
}

/** Non-empty trimmed lines, sorted: virsh's `--name` listings as a comparable array. */
export function sortedLines(s: string): string[] {
  return s
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
}

/** Opens a client, runs `fn`, and always closes it. */
export async function withClient<T>(
  uri: string,
  opts: LibvirtClientOptions,
  fn: (c: LibvirtClient) => Promise<T>,
): Promise<T> {
  const c = await LibvirtClient.open(uri, opts);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/**
 * A transient TCG domain for tests that change a domain's state (never a lab guest): the lab's kernel and
 * initramfs (busybox init, which keeps qemu-ga running), named `name`; `agentChannel` adds the
 * org.qemu.guest_agent.0 virtio channel.
 */
export function throwawayXml(name: string, opts: { agentChannel?: boolean } = {}): string {
  const img = labPaths().image;
  const channel = opts.agentChannel
    ? "\n    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
    : "";
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${join(img, "vmlinuz")}</kernel>
    <initrd>${join(img, "initrd.gz")}</initrd>
    <cmdline>console=ttyS0 panic=5 kvmon.hostname=${name}</cmdline>
  </os>
  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>${channel}
    <memballoon model='none'/>
  </devices>
</domain>`;
}

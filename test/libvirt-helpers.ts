/** Small helpers shared by the libvirt integration tests: virsh as the witness, and a client scoped to a callback. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
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

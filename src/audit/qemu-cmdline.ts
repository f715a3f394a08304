/**
 * QEMU's own view of its disks, from its command line (`/proc/<pid>/cmdline`, NUL-separated). libvirt (>= 5.10
 * with QEMU >= 4.2) gives each disk a `-device` whose `drive` names the top block node, and a `-blockdev` per
 * node: the format node (qcow2, raw) whose `file` names the protocol node (file, host_device) that holds the
 * file name, `aio` and `cache.direct` / `cache.no-flush`. The device's `write-cache` is the third cache switch.
 * Values are JSON (what libvirt writes since QEMU 6.0) or QEMU's key=value syntax (`cache.direct=on`, `,,`
 * for a comma). Disks hot-plugged after start are not on the command line (libvirt adds them over QMP).
 */
import { AuditError } from "./errors.ts";
import type { CmdlineDisk } from "./types.ts";

type Props = Record<string, unknown>;

/** The arguments of a process from its `/proc/<pid>/cmdline` bytes. */
export function splitCmdline(raw: Buffer | string): string[] {
  const text = typeof raw === "string" ? raw : raw.toString("utf8");
  const args = text.split("\0");
  if (args.at(-1) === "") args.pop();
  return args;
}

/**
 * QEMU's key=value option syntax into an object: `a=1,b.c=on` → {a: "1", b: {c: "on"}}; `,,` is a literal
 * comma; a first item without `=` is the value of `impliedKey` (`-device virtio-blk-pci,...` → driver).
 */
export function parseKeyval(text: string, impliedKey?: string): Props {
  const out: Props = {};
  const items: string[] = [];
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "," && text[i + 1] === ",") {
      cur += ",";
      i++;
    } else if (text[i] === ",") {
      items.push(cur);
      cur = "";
    } else cur += text[i];
  }
  items.push(cur);
  items.forEach((item, i) => {
    const eq = item.indexOf("=");
    if (eq === -1) {
      if (i === 0 && impliedKey && item !== "") out[impliedKey] = item;
      return;
    }
    const path = item.slice(0, eq).split(".");
    let node = out;
    for (const key of path.slice(0, -1)) {
      if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
      node = node[key] as Props;
    }
    node[path.at(-1)!] = item.slice(eq + 1);
  });
  return out;
}

function parseOption(option: string, value: string, impliedKey?: string): Props {
  if (!value.startsWith("{")) return parseKeyval(value, impliedKey);
  try {
    return JSON.parse(value) as Props;
  } catch (e) {
    throw new AuditError("AUDIT_CMDLINE", `QEMU's ${option} argument is not valid JSON: ${value}`, {
      cause: e,
    });
  }
}

/** The domain name libvirt gives QEMU (`-name guest=<name>,...`), to check a pid file still names its QEMU. */
export function guestName(args: readonly string[]): string | null {
  const i = args.indexOf("-name");
  const value = i === -1 ? undefined : args[i + 1];
  if (value === undefined) return null;
  const props = parseKeyval(value, "guest");
  return str(props.guest);
}

/** A QEMU boolean option as JSON (true/false) or key=value (on/off, yes/no, true/false) gives it. */
export function qemuBool(v: unknown): boolean | null {
  if (typeof v === "boolean") return v;
  if (v === "on" || v === "true" || v === "yes") return true;
  if (v === "off" || v === "false" || v === "no") return false;
  return null;
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const obj = (v: unknown): Props | null =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Props) : null;

/** Block drivers that filter I/O on top of the format node rather than being an image format. */
const FILTER_DRIVERS = new Set(["throttle", "copy-on-read", "preallocate", "compress", "blkdebug"]);

/** The node chain from a device's drive down to the protocol node, following `file` links. */
function nodeChain(nodes: Map<string, Props>, top: string): Props[] {
  const chain: Props[] = [];
  let next: unknown = top;
  while (chain.length < 16) {
    const node = typeof next === "string" ? nodes.get(next) : obj(next);
    if (!node) break;
    chain.push(node);
    next = node.file;
    if (next === undefined) break;
  }
  return chain;
}

/** Every disk device on the command line with its block nodes resolved, by device id. */
export function cmdlineDisks(args: readonly string[]): Map<string, CmdlineDisk> {
  const nodes = new Map<string, Props>();
  const devices: Props[] = [];
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] === "-blockdev") {
      const node = parseOption("-blockdev", args[i + 1]!);
      const name = str(node["node-name"]);
      if (name) nodes.set(name, node);
    } else if (args[i] === "-device") {
      devices.push(parseOption("-device", args[i + 1]!, "driver"));
    }
  }
  const out = new Map<string, CmdlineDisk>();
  for (const device of devices) {
    const id = str(device.id);
    const drive = str(device.drive);
    if (!id || !drive || !nodes.has(drive)) continue;
    const chain = nodeChain(nodes, drive);
    const protocol = chain.at(-1)!;
    const format = chain.slice(0, -1).find((n) => !FILTER_DRIVERS.has(str(n.driver) ?? ""));
    const cacheOf = (key: string) =>
      qemuBool(obj(protocol.cache)?.[key]) ?? qemuBool(obj(chain[0]!.cache)?.[key]) ?? false;
    out.set(id, {
      deviceId: id,
      nodeName: drive,
      filename: str(protocol.filename),
      // A protocol node used directly (no format layer) shows the guest its raw bytes.
      format: format ? str(format.driver) : "raw",
      aio: str(protocol.aio) ?? "threads",
      cache: {
        // write-cache absent or "auto" leaves QEMU's default for -blockdev devices: on.
        writeback: qemuBool(device["write-cache"]) ?? true,
        direct: cacheOf("direct"),
        noFlush: cacheOf("no-flush"),
      },
      readOnly: chain.some((n) => qemuBool(n["read-only"]) === true),
      discard: str(protocol.discard) ?? str(chain[0]!.discard),
    });
  }
  return out;
}

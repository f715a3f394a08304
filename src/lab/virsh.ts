/**
 * Every libvirt operation of the lab, behind one small interface. This implementation runs `virsh`; the
 * project's own libvirt client (src/protocol/libvirt) will implement the same interface later, and then only
 * this file changes. Nothing else in the lab may run virsh.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LIBVIRT_URI } from "./config.ts";
import { CommandError, VirshError } from "./errors.ts";
import { run } from "./exec.ts";

export interface DomainListEntry {
  name: string;
  /** libvirt's state words, e.g. "running", "shut off", "paused". */
  state: string;
  /** Hypervisor id, or undefined when not running. */
  id: number | undefined;
}

export interface LabLibvirt {
  define(xml: string): Promise<void>;
  start(name: string): Promise<void>;
  /** Hard power-off (a lab guest has nothing to save). */
  destroy(name: string): Promise<void>;
  undefine(name: string): Promise<void>;
  /** All domains, running or not. */
  list(): Promise<DomainListEntry[]>;
  domstate(name: string): Promise<string>;
  /** The domain XML: live when running, unless `inactive`. */
  dumpxml(name: string, options?: { inactive?: boolean }): Promise<string>;
  /**
   * Sends one guest-agent request (JSON text, `{"execute": ...}`) and returns the agent's reply as printed
   * (`{"return": ...}`); the lab's guest-agent client (guest-agent.ts) parses and validates it.
   */
  agentCommand(name: string, request: string, timeoutSeconds?: number): Promise<string>;
  /** Whether libvirt offers `<domain type='kvm'>` on this host. */
  kvmSupported(): Promise<boolean>;
}

/** Parses `virsh list --all` output (header, dashes, then "Id Name State" rows; Id is "-" when off). */
export function parseVirshList(output: string): DomainListEntry[] {
  const entries: DomainListEntry[] = [];
  for (const line of output.split("\n")) {
    const m = /^\s*(\d+|-)\s+(\S+)\s+(\S.*?)\s*$/.exec(line);
    if (!m || m[1] === "Id") continue;
    entries.push({ id: m[1] === "-" ? undefined : Number(m[1]), name: m[2]!, state: m[3]! });
  }
  return entries;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * virsh failures that mean the connection to libvirtd was lost or never made, not that the operation was
 * refused: libvirtd restarting (other tests on this host restart it on purpose) must not fail the lab.
 */
export const CONNECTION_LOST =
  /Failed to connect socket|Disconnected from .* due to|End of file while reading data|Cannot recv data|Broken pipe|Connection reset/i;

/** How long a lost connection is retried (libvirtd restarts in 0.5-2 s here). */
const RECONNECT_MS = 20_000;

interface VirshCall {
  timeoutMs?: number;
  /** Names the operation in errors; default: the first two arguments. */
  label?: string;
  /**
   * On a retry after a lost connection, an error matching this means the first attempt did take effect
   * before the connection dropped (e.g. "already active" when retrying start): success, not failure.
   */
  alreadyDone?: RegExp;
  /** Which lost-connection errors to retry (default CONNECTION_LOST); narrower for non-idempotent calls. */
  retryOn?: RegExp;
}

let defaultLibvirt: LabLibvirt | undefined;

/** The lab's shared virsh-backed LabLibvirt, for callers that were not handed one. */
export function defaultLabLibvirt(): LabLibvirt {
  defaultLibvirt ??= virshLibvirt();
  return defaultLibvirt;
}

/** `runner` is exec.ts's run; tests pass a fake to script virsh's answers. */
export function virshLibvirt(uri = LIBVIRT_URI, runner: typeof run = run): LabLibvirt {
  const once = async (args: string[], call: VirshCall): Promise<string> => {
    const timeoutMs = call.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    try {
      return (await runner("virsh", ["-q", "-c", uri, ...args], { timeoutMs })).stdout;
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      const message = error.timedOut
        ? `timed out after ${timeoutMs / 1000} s`
        : error.stderr.replace(/^error:\s*/gm, "").trim();
      throw new VirshError(call.label ?? args.slice(0, 2).join(" "), message || error.message, {
        hint: error.stderr.includes("Failed to connect socket")
          ? "is libvirtd running? ('kvmon lab up' starts it)"
          : error.exitCode === null && !error.timedOut
            ? "is virsh installed? (package libvirt-clients; 'kvmon lab up' installs it)"
            : undefined,
        cause: error,
      });
    }
  };
  const virsh = async (args: string[], call: VirshCall = {}): Promise<string> => {
    const deadline = Date.now() + RECONNECT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await once(args, call);
      } catch (error) {
        if (!(error instanceof VirshError)) throw error;
        if (attempt > 0 && call.alreadyDone?.test(error.message)) return "";
        if (!(call.retryOn ?? CONNECTION_LOST).test(error.message) || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  return {
    async define(xml) {
      const dir = await mkdtemp(join(tmpdir(), "kvmon-lab-"));
      try {
        const file = join(dir, "domain.xml");
        await writeFile(file, xml);
        const name = /<name>([^<]*)<\/name>/.exec(xml)?.[1] ?? "domain";
        await virsh(["define", file], { label: `define ${name}`, alreadyDone: /already exists/ });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    async start(name) {
      await virsh(["start", name], { timeoutMs: 120_000, alreadyDone: /already active|already running/ });
    },
    async destroy(name) {
      await virsh(["destroy", name], { alreadyDone: /not running/ });
    },
    async undefine(name) {
      await virsh(["undefine", name], { alreadyDone: /failed to get domain|Domain not found/ });
    },
    async list() {
      return parseVirshList(await virsh(["list", "--all"]));
    },
    async domstate(name) {
      return (await virsh(["domstate", name])).trim();
    },
    async dumpxml(name, options) {
      return virsh(["dumpxml", ...(options?.inactive ? ["--inactive"] : []), name]);
    },
    async agentCommand(name, request, timeoutSeconds = 10) {
      const out = await virsh(
        ["qemu-agent-command", name, request, "--timeout", String(timeoutSeconds)],
        // A command may have reached the guest before the connection dropped (guest-exec would then run
        // twice): retry only when libvirtd was never reached.
        { timeoutMs: (timeoutSeconds + 15) * 1000, retryOn: /Failed to connect socket/ },
      );
      return out.trim();
    },
    async kvmSupported() {
      return /<domain type=['"]kvm['"]/.test(await virsh(["capabilities"]));
    },
  };
}

/**
 * The lab's QEMU guest agent access: the protocol's QgaClient (src/protocol/qga) over a third, lab-only
 * transport, `virsh qemu-agent-command` (LabLibvirt.agentCommand), because every libvirt operation of the
 * lab goes through virsh (with its retries across libvirtd restarts). The lab needs guest-ping (readiness,
 * latency) and guest-exec (workloads): pingAgent, waitForAgent and the one guestExec.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  AGENT_UNAVAILABLE_TEXT,
  type ExecResult,
  encodeCommand,
  libvirtAgentErrorDesc,
  QgaClient,
  QgaCommandError,
  type QgaTransport,
  QgaUnavailableError,
} from "../protocol/qga/index.ts";
import { TimeoutError } from "../shared/errors.ts";
import { LabTimeoutError, VirshError } from "./errors.ts";
import { defaultLabLibvirt, type LabLibvirt } from "./virsh.ts";

export type { ExecResult } from "../protocol/qga/index.ts";

/**
 * `virsh qemu-agent-command` as a QgaTransport. virsh prints the agent's reply; its failures become the
 * protocol's errors: an agent error reply (libvirt's "unable to execute QEMU agent command") is a
 * QgaCommandError, and any other failure to get an answer (agent not connected or not configured, libvirtd
 * unreachable) a QgaUnavailableError, the VirshError kept as cause.
 */
export function virshAgentTransport(lv: LabLibvirt, domain: string): QgaTransport {
  return {
    description: `${domain} (virsh)`,
    async request(execute, args, timeoutMs) {
      try {
        return await lv.agentCommand(
          domain,
          encodeCommand(execute, args).toString(),
          Math.ceil(timeoutMs / 1000),
        );
      } catch (error) {
        if (!(error instanceof VirshError)) throw error;
        const desc = libvirtAgentErrorDesc(error.message);
        if (desc !== undefined) throw new QgaCommandError(execute, desc, { cause: error });
        const why = AGENT_UNAVAILABLE_TEXT.test(error.message) ? "not available" : "unreachable";
        throw new QgaUnavailableError(`guest agent of ${domain} ${why}: ${error.message}`, { cause: error });
      }
    },
    close: async () => undefined,
  };
}

/** A guest-agent client for one lab guest (10 s per call, like virsh's default here). */
export function labGuestAgent(lv: LabLibvirt, domain: string): QgaClient {
  return new QgaClient(virshAgentTransport(lv, domain), { timeoutMs: 10_000 });
}

export interface PingResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/** One guest-ping; never throws for an unreachable or silent agent (the result says so). */
export async function pingAgent(lv: LabLibvirt, domain: string, timeoutSeconds = 5): Promise<PingResult> {
  const start = performance.now();
  try {
    await labGuestAgent(lv, domain).ping({ timeoutMs: timeoutSeconds * 1000 });
    return { ok: true, latencyMs: performance.now() - start };
  } catch (error) {
    const agentDown =
      error instanceof QgaUnavailableError ||
      error instanceof QgaCommandError ||
      error instanceof TimeoutError;
    if (!agentDown) throw error;
    return { ok: false, latencyMs: performance.now() - start, error: error.message };
  }
}

/** Polls guest-ping until it answers; rejects with LabTimeoutError (carrying the last error) after `timeoutMs`. */
export async function waitForAgent(
  lv: LabLibvirt,
  domain: string,
  timeoutMs: number,
  intervalMs = 500,
): Promise<number> {
  const start = performance.now();
  let last = "";
  while (performance.now() - start < timeoutMs) {
    const r = await pingAgent(lv, domain, 2);
    if (r.ok) return performance.now() - start;
    last = r.error ?? "";
    await sleep(intervalMs);
  }
  throw new LabTimeoutError(
    `${domain}: guest agent did not answer guest-ping within ${timeoutMs / 1000} s (${last})`,
  );
}

export interface GuestExecOptions {
  /** The lab's libvirt access; default the shared virsh one. */
  libvirt?: LabLibvirt;
  /** Default 60 s. */
  timeoutMs?: number;
  input?: string;
}

/**
 * Runs `argv` in the guest through guest-exec (output captured) and polls guest-exec-status until it exits.
 * A program still running after `timeoutMs` is a LabTimeoutError; the guest process keeps running (qemu-ga
 * has no kill command), so callers bound their programs with `timeout` in the guest as well.
 */
export async function guestExec(
  domain: string,
  argv: readonly string[],
  options: GuestExecOptions = {},
): Promise<ExecResult> {
  const agent = labGuestAgent(options.libvirt ?? defaultLabLibvirt(), domain);
  try {
    return await agent.exec(argv, { timeoutMs: options.timeoutMs ?? 60_000, input: options.input });
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    throw new LabTimeoutError(`${domain}: ${error.message}`, { cause: error });
  }
}

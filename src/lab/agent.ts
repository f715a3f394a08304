/**
 * The guest-agent calls the lab itself needs: guest-ping (readiness, latency) and guest-exec with polling of
 * guest-exec-status (workloads). Everything goes through LabLibvirt.agentCommand, so it keeps working when
 * virsh is replaced by the native client.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { AgentError, LabTimeoutError } from "./errors.ts";
import type { LabLibvirt } from "./virsh.ts";

export interface PingResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/** One guest-ping; never throws for an unreachable agent (the result says so). */
export async function pingAgent(lv: LabLibvirt, domain: string, timeoutSeconds = 5): Promise<PingResult> {
  const start = performance.now();
  try {
    await lv.agentCommand(domain, { execute: "guest-ping" }, timeoutSeconds);
    return { ok: true, latencyMs: performance.now() - start };
  } catch (error) {
    if (!(error instanceof AgentError)) throw error;
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

export interface ExecResult {
  exitcode: number;
  /** Set when the process was killed by a signal. */
  signal?: number;
  stdout: string;
  stderr: string;
}

interface ExecStatus {
  exited: boolean;
  exitcode?: number;
  signal?: number;
  "out-data"?: string;
  "err-data"?: string;
  "out-truncated"?: boolean;
  "err-truncated"?: boolean;
}

/** Turns a finished guest-exec-status reply into an ExecResult (base64 output decoded). */
export function execResult(status: ExecStatus): ExecResult {
  const decode = (b64: string | undefined) => (b64 ? Buffer.from(b64, "base64").toString("utf8") : "");
  const result: ExecResult = {
    exitcode: status.exitcode ?? (status.signal !== undefined ? 128 + status.signal : -1),
    stdout: decode(status["out-data"]),
    stderr: decode(status["err-data"]),
  };
  if (status.signal !== undefined) result.signal = status.signal;
  return result;
}

/**
 * Runs `argv` in the guest through guest-exec (output captured) and polls guest-exec-status until it exits.
 * A program still running after `timeoutMs` is a LabTimeoutError; the guest process keeps running (qemu-ga
 * has no kill command), so callers bound their programs with `timeout` in the guest as well.
 */
export async function guestExec(
  lv: LabLibvirt,
  domain: string,
  argv: readonly string[],
  options: { timeoutMs?: number; input?: string } = {},
): Promise<ExecResult> {
  const [path, ...args] = argv;
  if (!path) throw new AgentError(domain, "guest-exec needs a program");
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = (await lv.agentCommand(domain, {
    execute: "guest-exec",
    arguments: {
      path,
      arg: args,
      "capture-output": true,
      ...(options.input !== undefined ? { "input-data": Buffer.from(options.input).toString("base64") } : {}),
    },
  })) as { pid?: number };
  if (typeof started?.pid !== "number")
    throw new AgentError(domain, `guest-exec gave no pid: ${JSON.stringify(started)}`);
  const begin = performance.now();
  let delay = 50;
  while (performance.now() - begin < timeoutMs) {
    const status = (await lv.agentCommand(domain, {
      execute: "guest-exec-status",
      arguments: { pid: started.pid },
    })) as ExecStatus;
    if (status.exited) return execResult(status);
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
  throw new LabTimeoutError(
    `${domain}: '${argv.join(" ")}' still running after ${timeoutMs / 1000} s (guest pid ${started.pid})`,
  );
}

/**
 * Commands in the guest (issue 11): guestExec() runs one program through the guest's agent and waits for it,
 * the building block of the agent's exec endpoint and the CLI's `exec`/`shell`. guest-exec starts it (stdin
 * from `input`, output captured when asked), guest-exec-status is polled (10 ms doubling to 500 ms) until it
 * exits or the deadline passes. Output is raw bytes (base64 on the wire); each stream is cut at
 * `maxOutputBytes` and also reported as text when it is valid UTF-8.
 *
 * Timeouts: the agent has no kill command, so on timeout guestExec runs a second guest-exec of
 * `kill -KILL <pid>` (found on the guest's PATH; the agent's own pid for the program, so only that process
 * dies, not children it started) when `killOnTimeout` is set and the agent lists guest-exec as enabled, then
 * reads the status once more for the output so far.
 */
import type { ExecOutput, GuestExecResult } from "../../model/control.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { type QgaClient, QgaCommands, type ExecStatus } from "../../protocol/qga/index.ts";

/** What the guest's agent is reached through: a guest-view channel, or anything with a QgaClient. */
export interface ExecChannel {
  qga: QgaClient;
}

export interface GuestExecRequest {
  path: string;
  args?: readonly string[];
  /** Bytes for the program's stdin (closed after them). */
  input?: Buffer;
  /** Capture stdout and stderr. Default true. */
  captureOutput?: boolean;
  /** Bytes kept per stream. Default 1 MiB. */
  maxOutputBytes?: number;
  /** Whole-run deadline. Default 30 s. */
  timeoutMs?: number;
}

export interface GuestExecOptions {
  /** Kill the program in the guest at the deadline (see above). Default true. */
  killOnTimeout?: boolean;
  /** Deadline of each agent call. Default 5 s. */
  callTimeoutMs?: number;
  /** Longest pause between status polls. Default 500 ms. */
  maxPollMs?: number;
}

export const EXEC_DEFAULTS = { maxOutputBytes: 1024 * 1024, timeoutMs: 30_000 } as const;

export async function guestExec(
  channel: ExecChannel,
  req: GuestExecRequest,
  opts: GuestExecOptions = {},
): Promise<GuestExecResult> {
  const { qga } = channel;
  const started = performance.now();
  const timeoutMs = req.timeoutMs ?? EXEC_DEFAULTS.timeoutMs;
  const call = { timeoutMs: opts.callTimeoutMs ?? 5000 };
  const { pid } = await qga.call(
    QgaCommands.exec,
    {
      path: req.path,
      arg: [...(req.args ?? [])],
      "capture-output": req.captureOutput ?? true,
      ...(req.input === undefined ? {} : { "input-data": req.input.toString("base64") }),
    },
    call,
  );
  const deadline = started + timeoutMs;
  let status = await qga.call(QgaCommands.execStatus, { pid }, call);
  for (let pause = 10; !status.exited; pause = Math.min(pause * 2, opts.maxPollMs ?? 500)) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    await sleep(Math.min(pause, left)); // the last poll lands on the deadline, not a pause before it
    status = await qga.call(QgaCommands.execStatus, { pid }, call);
  }
  const timedOut = !status.exited;
  let killed = false;
  if (timedOut && (opts.killOnTimeout ?? true) && (await lists(qga, "guest-exec", call))) {
    await qga.call(QgaCommands.exec, { path: "kill", arg: ["-KILL", String(pid)] }, call);
    for (let i = 0; i < 20 && !status.exited; i++) {
      await sleep(50);
      status = await qga.call(QgaCommands.execStatus, { pid }, call);
    }
    killed = status.exited;
  }
  return toResult(pid, status, {
    maxOutputBytes: req.maxOutputBytes ?? EXEC_DEFAULTS.maxOutputBytes,
    timedOut,
    killed,
    durationMs: Math.round(performance.now() - started),
  });
}

/** Whether the agent lists `command` as enabled (an agent may be started with commands blocked). */
async function lists(qga: QgaClient, command: string, call: { timeoutMs: number }): Promise<boolean> {
  const info = await qga.call(QgaCommands.info, undefined, call);
  return info.supported_commands.some((c) => c.name === command && c.enabled);
}

export function toResult(
  pid: number,
  status: ExecStatus,
  r: { maxOutputBytes: number; timedOut: boolean; killed: boolean; durationMs: number },
): GuestExecResult {
  const out = output(status["out-data"], r.maxOutputBytes);
  const err = output(status["err-data"], r.maxOutputBytes);
  return {
    pid,
    exitCode: status.exited
      ? (status.exitcode ?? (status.signal !== undefined ? 128 + status.signal : null))
      : null,
    signal: status.signal ?? null,
    stdout: out.output,
    stderr: err.output,
    truncated: out.cut || err.cut || status["out-truncated"] === true || status["err-truncated"] === true,
    timedOut: r.timedOut,
    killed: r.killed,
    durationMs: r.durationMs,
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** One stream: at most `max` bytes, with its text when valid UTF-8 (a character cut at the cap is dropped). */
export function output(b64: string | undefined, max: number): { output: ExecOutput; cut: boolean } {
  const all = Buffer.from(b64 ?? "", "base64");
  const cut = all.length > max;
  const bytes = cut ? all.subarray(0, max) : all;
  return { output: { base64: bytes.toString("base64"), text: text(bytes, cut), bytes: bytes.length }, cut };
}

function text(bytes: Buffer, cut: boolean): string | null {
  // A cut can split one character (at most 3 of its bytes kept): drop that partial tail, not the whole text.
  for (let drop = 0; drop <= (cut ? 3 : 0) && drop <= bytes.length; drop++) {
    try {
      return utf8.decode(bytes.subarray(0, bytes.length - drop));
    } catch {
      // try a shorter tail
    }
  }
  return null;
}

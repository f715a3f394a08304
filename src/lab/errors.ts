/**
 * Errors of the lab layer, KvmonErrors with stable LAB_* codes. Each carries a `hint` for the operator, which
 * the CLI prints in one place (src/cli/main.ts) without the lab knowing about the CLI; code that drives the
 * lab (tests, benchmarks) can still tell them apart by class. Guest-agent failures are the protocol's own
 * errors (src/protocol/qga: QgaUnavailableError, QgaCommandError), not lab errors.
 */
import { KvmonError, type KvmonErrorOptions } from "../shared/errors.ts";

/** Any lab failure the operator can act on (code LAB_FAILED unless a subclass says more); `hint` says what to do. */
export class LabError extends KvmonError {
  override name = "LabError";
  constructor(message: string, options?: KvmonErrorOptions & { code?: string }) {
    super(options?.code ?? "LAB_FAILED", message, options);
  }
}

/** A subprocess that failed, timed out or could not be started. Keeps its stderr for the message. */
export class CommandError extends LabError {
  override name = "CommandError";
  readonly command: string;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  constructor(
    command: string,
    details: {
      exitCode: number | null;
      stdout?: string;
      stderr: string;
      timedOut: boolean;
      hint?: string;
      cause?: unknown;
    },
  ) {
    const why = details.timedOut
      ? "timed out"
      : details.exitCode === null
        ? "could not run"
        : `exited with ${details.exitCode}`;
    const tail = details.stderr.trim().split("\n").slice(-5).join("\n");
    super(`${command}: ${why}${tail ? `: ${tail}` : ""}`, {
      code: "LAB_COMMAND_FAILED",
      hint: details.hint,
      cause: details.cause,
    });
    this.command = command;
    this.exitCode = details.exitCode;
    this.stdout = details.stdout ?? "";
    this.stderr = details.stderr;
    this.timedOut = details.timedOut;
  }
}

/** A libvirt operation of the lab that failed in virsh; `operation` is e.g. "start kvmon-lab-1". */
export class VirshError extends LabError {
  override name = "VirshError";
  readonly operation: string;
  constructor(operation: string, message: string, options?: KvmonErrorOptions) {
    super(`libvirt ${operation}: ${message}`, { ...options, code: "LAB_VIRSH_FAILED" });
    this.operation = operation;
  }
}

/** A wait that ran out of time (daemon socket, guest agent, guest command). */
export class LabTimeoutError extends LabError {
  override name = "LabTimeoutError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super(message, { ...options, code: "LAB_TIMEOUT" });
  }
}

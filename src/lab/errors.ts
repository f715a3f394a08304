/**
 * Errors of the lab layer. Each carries a `hint` for the operator, which the CLI prints in one place
 * (src/cli/main.ts) without the lab knowing about the CLI; code that drives the lab (tests, benchmarks) can
 * still tell them apart by class.
 */

/** Any lab failure the operator can act on; `hint` says what to do about it. */
export class LabError extends Error {
  override name = "LabError";
  readonly hint: string | undefined;
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.hint = options?.hint;
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
    super(`${command}: ${why}${tail ? `: ${tail}` : ""}`, { hint: details.hint, cause: details.cause });
    this.command = command;
    this.exitCode = details.exitCode;
    this.stdout = details.stdout ?? "";
    this.stderr = details.stderr;
    this.timedOut = details.timedOut;
  }
}

/** A libvirt operation (through virsh for now) that failed; `operation` is e.g. "start kvmon-lab-1". */
export class LibvirtError extends LabError {
  override name = "LibvirtError";
  readonly operation: string;
  constructor(operation: string, message: string, options?: { hint?: string; cause?: unknown }) {
    super(`libvirt ${operation}: ${message}`, options);
    this.operation = operation;
  }
}

/** The guest agent did not answer, or answered with an error object. */
export class AgentError extends LabError {
  override name = "AgentError";
  readonly domain: string;
  /** The agent's error class (e.g. "GenericError") when it answered with one; undefined when unreachable. */
  readonly agentClass: string | undefined;
  constructor(
    domain: string,
    message: string,
    options?: { agentClass?: string; hint?: string; cause?: unknown },
  ) {
    super(`guest agent of ${domain}: ${message}`, options);
    this.domain = domain;
    this.agentClass = options?.agentClass;
  }
}

/** A wait that ran out of time (daemon socket, guest agent, guest command). */
export class LabTimeoutError extends LabError {
  override name = "LabTimeoutError";
}

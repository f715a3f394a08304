/**
 * Errors of the guest-agent client, each a KvmonError with a stable code:
 * - QgaCommandError (QGA_COMMAND_FAILED): the agent answered with an error object; its class (when the
 *   transport keeps it: the socket does, libvirt does not) and its description are kept;
 * - QgaProtocolError (QGA_PROTOCOL): the agent's bytes are not a valid reply: malformed JSON, invalid UTF-8,
 *   a line over the limit, or a reply that fails the command's return schema. Guests are untrusted: this is
 *   the only error a hostile reply can produce;
 * - QgaUnavailableError (QGA_UNAVAILABLE): no agent to talk to: libvirt says it is not connected, not
 *   responding or not configured (LibvirtError.isAgentUnavailable), or the socket is refused or closed;
 * - a silent agent is the shared TimeoutError (code TIMEOUT).
 */
import { KvmonError, type KvmonErrorOptions } from "../../shared/errors.ts";

export class QgaCommandError extends KvmonError {
  override name = "QgaCommandError";
  /** The command that failed, e.g. "guest-exec". */
  readonly command: string;
  /** The agent's error class (e.g. "GenericError", "CommandNotFound"); undefined when the transport drops it. */
  readonly agentClass: string | undefined;
  /** The agent's own description. */
  readonly desc: string;
  constructor(command: string, desc: string, options?: KvmonErrorOptions & { agentClass?: string }) {
    super("QGA_COMMAND_FAILED", `guest agent ${command}: ${desc}`, options);
    this.command = command;
    this.agentClass = options?.agentClass;
    this.desc = desc;
  }
}

export class QgaProtocolError extends KvmonError {
  override name = "QgaProtocolError";
  /** The command whose reply was bad, when known. */
  readonly command: string | undefined;
  constructor(message: string, options?: KvmonErrorOptions & { command?: string }) {
    super("QGA_PROTOCOL", options?.command ? `guest agent ${options.command}: ${message}` : message, options);
    this.command = options?.command;
  }
}

export class QgaUnavailableError extends KvmonError {
  override name = "QgaUnavailableError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("QGA_UNAVAILABLE", message, options);
  }
}

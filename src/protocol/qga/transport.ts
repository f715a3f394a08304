/**
 * How a QgaClient reaches an agent. Two implementations: libvirt's QEMU_DOMAIN_AGENT_COMMAND
 * (libvirt-transport.ts; libvirt keeps the channel in sync itself) and a unix socket straight to the agent
 * (socket-transport.ts; this client resynchronises). The lab adds a third over `virsh qemu-agent-command`.
 */

export interface QgaTransport {
  /** Names the agent in errors, e.g. "kvmon-lab-1 (libvirt)" or "/run/qga.sock". */
  readonly description: string;
  /**
   * Sends one command and resolves with the agent's reply line, unparsed (`{"return": ...}`), within
   * `timeoutMs` (else TimeoutError). Fails with QgaUnavailableError when there is no agent to talk to and with
   * QgaCommandError when the transport itself already turned an error reply into an error (libvirt does).
   * Callers make one request at a time (QgaClient does): the agent is serial.
   */
  request(execute: string, args: object | undefined, timeoutMs: number): Promise<string>;
  close(): Promise<void>;
}

/** libvirt's (and virsh's) wording for an agent error reply: the agent's description follows the command. */
const LIBVIRT_COMMAND_FAILED = /unable to execute QEMU agent command '[^']*': ([\s\S]*)$/;

/** libvirt's wording for "no agent": not connected, not responding, not configured, not available. */
export const AGENT_UNAVAILABLE_TEXT =
  /guest agent is not (connected|responding|configured)|agent not available|agent is not available/i;

/** The agent's own description in a libvirt "unable to execute QEMU agent command" message, if it is one. */
export function libvirtAgentErrorDesc(message: string): string | undefined {
  return LIBVIRT_COMMAND_FAILED.exec(message)?.[1]?.trim();
}

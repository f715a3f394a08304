/**
 * The guest agent through libvirt (QEMU_DOMAIN_AGENT_COMMAND, `virsh qemu-agent-command`): libvirt owns the
 * channel, syncs it with guest-sync and caps replies at 10 MB. It needs a read-write connection. libvirt
 * turns an agent error reply into a libvirt error ("unable to execute QEMU agent command 'x': desc") that
 * keeps the description but not the agent's error class.
 */
import { LibvirtError } from "../libvirt/errors.ts";
import type { DomainRef } from "../libvirt/types.ts";
import { encodeCommand } from "./codec.ts";
import { QgaCommandError, QgaProtocolError, QgaUnavailableError } from "./errors.ts";
import { libvirtAgentErrorDesc, type QgaTransport } from "./transport.ts";

/** The one method of LibvirtClient this transport needs (a LibvirtClient, or the live client of a reconnecting one). */
export interface AgentCommandSender {
  qemuAgentCommand(dom: DomainRef, cmd: string, timeoutSec?: number): Promise<string | null>;
}

export class QgaLibvirtTransport implements QgaTransport {
  readonly description: string;
  private readonly libvirt: AgentCommandSender;
  private readonly dom: DomainRef;

  constructor(libvirt: AgentCommandSender, dom: DomainRef) {
    this.libvirt = libvirt;
    this.dom = dom;
    this.description = `${dom.name} (libvirt)`;
  }

  async request(execute: string, args: object | undefined, timeoutMs: number): Promise<string> {
    // libvirt's agent timeout is in whole seconds; the client's own call deadline sits above it.
    const timeoutSec = Math.max(1, Math.ceil(timeoutMs / 1000));
    let reply: string | null;
    try {
      reply = await this.libvirt.qemuAgentCommand(
        this.dom,
        encodeCommand(execute, args).toString(),
        timeoutSec,
      );
    } catch (e) {
      throw fromLibvirt(e, execute, this.description);
    }
    if (reply === null) throw new QgaProtocolError("libvirt returned no reply", { command: execute });
    return reply;
  }

  async close(): Promise<void> {
    // The libvirt connection belongs to the caller.
  }
}

/** A LibvirtError from an agent command as the qga error it means; other errors unchanged. */
export function fromLibvirt(e: unknown, command: string, description: string): unknown {
  if (!(e instanceof LibvirtError)) return e;
  if (e.isAgentUnavailable())
    return new QgaUnavailableError(`guest agent of ${description}: ${e.message}`, { cause: e });
  const desc = libvirtAgentErrorDesc(e.message);
  return desc === undefined ? e : new QgaCommandError(command, desc, { cause: e });
}

/**
 * How control calls reach a guest: through libvirt's QEMU_DOMAIN_AGENT_COMMAND (and, for the console route,
 * DOMAIN_OPEN_CONSOLE) on a read-write connection to the guest view's URI, opened at agent start only when
 * guestExec or guestPassthrough is on, and used for nothing else (DOMAIN_LOOKUP_BY_NAME / _BY_UUID to find the
 * guest, then agent commands or the console stream).
 * libvirt serialises agent commands per domain, so control calls and the guest view's reads of the same guest
 * never interleave on the agent's channel.
 */
import {
  type DomainRef,
  type LibvirtClient,
  ReconnectingLibvirtConnection,
} from "../../protocol/libvirt/index.ts";
import { QgaClient, QgaLibvirtTransport } from "../../protocol/qga/index.ts";
import type { ConsoleStream } from "./console.ts";
import type { ExecChannel } from "./guest-exec.ts";

export interface ControlChannels {
  /** The guest's channel, by domain name or UUID (LIBVIRT_NO_DOMAIN when there is none). */
  channel(nameOrUuid: string): Promise<ExecChannel & { domain: DomainRef }>;
  /** The guest's serial console (the first one), taken over from any other client holding it. */
  console(nameOrUuid: string): Promise<ConsoleStream>;
  close(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A domain by name or UUID (what a fleet server stores); LIBVIRT_NO_DOMAIN when there is none. */
export function lookupDomain(client: LibvirtClient, nameOrUuid: string): Promise<DomainRef> {
  return UUID.test(nameOrUuid)
    ? client.lookupByUuid(nameOrUuid.toLowerCase())
    : client.lookupByName(nameOrUuid);
}

export function openControlChannels(uri: string, callTimeoutMs: number): ControlChannels {
  const conn = new ReconnectingLibvirtConnection(uri, {
    readOnly: false,
    callTimeoutMs: callTimeoutMs + 1000,
    keepalive: false,
  });
  conn.start();
  const lookup = async (nameOrUuid: string) => {
    const client = await conn.waitConnected(callTimeoutMs);
    return { client, domain: await lookupDomain(client, nameOrUuid) };
  };
  return {
    async channel(nameOrUuid) {
      const { domain } = await lookup(nameOrUuid);
      const transport = new QgaLibvirtTransport(
        { qemuAgentCommand: (d, cmd, t) => conn.client.qemuAgentCommand(d, cmd, t) },
        domain,
      );
      return { domain, qga: new QgaClient(transport, { timeoutMs: callTimeoutMs }) };
    },
    async console(nameOrUuid) {
      const { client, domain } = await lookup(nameOrUuid);
      // force: a browser tab closed without a clean close leaves libvirt's session held until it notices.
      const stream = await client.openConsole(domain, { force: true });
      return {
        output: stream,
        write: (bytes) => Promise.resolve(stream.write(bytes)),
        // As virsh does when its console session ends: abort, there is nothing of ours left to flush.
        close: () => Promise.resolve(stream.abort()),
      };
    },
    close: () => conn.close(),
  };
}

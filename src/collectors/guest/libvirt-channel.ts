/**
 * The guest view's own libvirt connection: read-write (the read-only socket refuses guest-info and agent
 * commands), separate from the agent's read-only one and opened only when the guest view is enabled. Calls it
 * makes: DOMAIN_GET_GUEST_INFO, QEMU_DOMAIN_AGENT_COMMAND, and the AGENT_LIFECYCLE event registration.
 */
import {
  AgentLifecycleState,
  DomainEvents,
  LibvirtError,
  ReconnectingLibvirtConnection,
} from "../../protocol/libvirt/index.ts";
import {
  QgaClient,
  QgaLibvirtTransport,
  QgaProtocolError,
  QgaUnavailableError,
} from "../../protocol/qga/index.ts";
import type { DomainTarget } from "../types.ts";
import { GuestLimits } from "./limits.ts";
import type { GuestChannel } from "./source.ts";

export interface LibvirtGuestChannels {
  channel(target: DomainTarget): GuestChannel;
  /** Calls back on every agent connect/disconnect until close(). */
  onAgentLifecycle(fn: (uuid: string, connected: boolean) => void): void;
  close(): Promise<void>;
}

export function openLibvirtGuestChannels(uri: string, callTimeoutMs: number): LibvirtGuestChannels {
  const conn = new ReconnectingLibvirtConnection(uri, {
    readOnly: false,
    callTimeoutMs: callTimeoutMs + 1000,
    keepalive: false,
  });
  conn.start();
  const events = conn.events(DomainEvents.AGENT_LIFECYCLE);
  return {
    channel(target) {
      const dom = { name: target.name, uuid: target.uuid, id: target.id };
      const transport = new QgaLibvirtTransport(
        {
          async qemuAgentCommand(d, cmd, t) {
            const reply = await conn.client.qemuAgentCommand(d, cmd, t);
            // libvirt passes up to 10 MiB; parsing that would stall the event loop (GuestLimits.replyBytes).
            if (reply !== null && reply.length > GuestLimits.replyBytes)
              throw new QgaProtocolError(
                `reply of ${reply.length} characters exceeds ${GuestLimits.replyBytes}`,
              );
            return reply;
          },
        },
        dom,
      );
      return {
        qga: new QgaClient(transport, { timeoutMs: callTimeoutMs }),
        async guestInfo(types) {
          try {
            return await conn.client.guestInfo(dom, types, { timeoutMs: callTimeoutMs + 1000 });
          } catch (e) {
            if (e instanceof LibvirtError && e.isAgentUnavailable())
              throw new QgaUnavailableError(`guest agent of ${target.name}: ${e.message}`, { cause: e });
            throw e;
          }
        },
      };
    },
    onAgentLifecycle(fn) {
      void (async () => {
        for await (const e of events) fn(e.domain.uuid, e.state === AgentLifecycleState.CONNECTED);
      })();
    },
    async close() {
      events.close();
      await conn.close();
    },
  };
}

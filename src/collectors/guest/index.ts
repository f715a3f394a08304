/** The guest view (issue 11): public API of src/collectors/guest. */
export { type CustomCommand, customCommandsSchema, CustomLimits } from "./custom-config.ts";
export { GuestLimits, boundText } from "./limits.ts";
export { guestMetrics } from "./metrics.ts";
export { socketGuestChannel } from "./socket-channel.ts";
export { type SocketGuest, socketGuestUuid, socketGuestsSchema } from "./socket-config.ts";
export { type GuestChannel, GuestSource, type GuestSourceOptions } from "./source.ts";
import type { CustomCommand } from "./custom-config.ts";
import { openLibvirtGuestChannels } from "./libvirt-channel.ts";
import { socketGuestChannel } from "./socket-channel.ts";
import { GuestSource } from "./source.ts";

export interface GuestViewOptions {
  /** URI of the read-write libvirt connection for libvirt's domains; null: socket guests only, no connection. */
  uri: string | null;
  tiers: { fast: number; medium: number; slow: number };
  callTimeoutMs: number;
  custom?: readonly CustomCommand[];
}

/**
 * The guest source: libvirt's domains on its own read-write connection with AGENT_LIFECYCLE wired in (unless
 * `uri` is null), and guests outside libvirt (targets with a socketPath) over their agent's unix socket.
 */
export function openGuestView(opts: GuestViewOptions): { source: GuestSource; close(): Promise<void> } {
  const channels = opts.uri === null ? null : openLibvirtGuestChannels(opts.uri, opts.callTimeoutMs);
  const source = new GuestSource({
    channel: (t) =>
      t.socketPath !== undefined
        ? socketGuestChannel(t.socketPath, opts.callTimeoutMs)
        : channels!.channel(t), // accepts() lets libvirt's domains through only with a connection
    accepts: (t) => t.socketPath !== undefined || channels !== null,
    tiers: opts.tiers,
    callTimeoutMs: opts.callTimeoutMs,
    custom: opts.custom,
  });
  channels?.onAgentLifecycle((uuid, connected) => source.agentLifecycle(uuid, connected));
  return {
    source,
    async close() {
      await source.close();
      await channels?.close();
    },
  };
}

/** The guest view (issue 11): public API of src/collectors/guest. */
export { type CustomCommand, customCommandsSchema, CustomLimits } from "./custom-config.ts";
export { GuestLimits, boundText } from "./limits.ts";
export { guestMetrics } from "./metrics.ts";
export { socketGuestChannel } from "./socket-channel.ts";
export { type GuestChannel, GuestSource, type GuestSourceOptions } from "./source.ts";
import type { CustomCommand } from "./custom-config.ts";
import { openLibvirtGuestChannels } from "./libvirt-channel.ts";
import { GuestSource } from "./source.ts";

export interface GuestViewOptions {
  uri: string;
  tiers: { fast: number; medium: number; slow: number };
  callTimeoutMs: number;
  custom?: readonly CustomCommand[];
}

/** The guest source on its own read-write libvirt connection, with AGENT_LIFECYCLE wired in. */
export function openGuestView(opts: GuestViewOptions): { source: GuestSource; close(): Promise<void> } {
  const channels = openLibvirtGuestChannels(opts.uri, opts.callTimeoutMs);
  const source = new GuestSource({
    channel: (t) => channels.channel(t),
    tiers: opts.tiers,
    callTimeoutMs: opts.callTimeoutMs,
    custom: opts.custom,
  });
  channels.onAgentLifecycle((uuid, connected) => source.agentLifecycle(uuid, connected));
  return {
    source,
    async close() {
      await source.close();
      await channels.close();
    },
  };
}

/**
 * A guest's agent reached directly over its unix socket, for QEMU started without libvirt (`-chardev
 * socket,path=...` behind a virtserialport named org.qemu.guest_agent.0). There is no bulk guest-info call on
 * this channel, so the readers use the agent's own commands (guest-get-osinfo, guest-get-fsinfo, ...). The
 * transport resynchronises after every connect and timeout and bounds what it buffers (protocol/qga).
 */
import { QgaClient, QgaSocketTransport } from "../../protocol/qga/index.ts";
import { GuestLimits } from "./limits.ts";
import type { GuestChannel } from "./source.ts";

export function socketGuestChannel(path: string, callTimeoutMs: number): GuestChannel {
  // A longer reply line is skipped unread (LineReader) and reported as that call's QgaProtocolError.
  const transport = new QgaSocketTransport(path, { maxLineBytes: GuestLimits.replyBytes });
  const qga = new QgaClient(transport, { timeoutMs: callTimeoutMs });
  return { qga, close: () => qga.close() };
}

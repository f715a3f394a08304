/** vCPUs the guest has online (guest-get-vcpus). */
import type { GuestVcpus } from "../../model/types.ts";
import { QgaCommands } from "../../protocol/qga/index.ts";
import type { GuestCall } from "./call.ts";

export async function readVcpus(g: GuestCall): Promise<GuestVcpus | null> {
  if (!g.has("guest-get-vcpus")) return null;
  const list = await g.qga.call(QgaCommands.vcpus, undefined, { timeoutMs: g.timeoutMs });
  return { online: list.filter((v) => v.online).length, total: list.length };
}

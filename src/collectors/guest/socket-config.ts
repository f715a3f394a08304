/**
 * Guests outside libvirt declared in the agent's config (`guest.sockets`): QEMU started without libvirt with
 * its agent on a unix socket (`-chardev socket,path=...,server=on,wait=off` + a virtserialport named
 * org.qemu.guest_agent.0). Each is `{name, path, uuid?}`; without a uuid one is derived from the name (a
 * name-based UUID, the same on every start), so series keep their `uuid` label across restarts.
 */
import { createHash } from "node:crypto";
import { isAbsolute } from "node:path";
import { z } from "zod";
import { GuestLimits } from "./limits.ts";

/** More socket guests than this is a config mistake, not a host (the agent asks each one every fast tier). */
export const MAX_SOCKET_GUESTS = 1000;

export interface SocketGuest {
  /** The `domain` label and the name in /api/v1/domains. */
  name: string;
  /** The agent's unix socket. */
  path: string;
  /** Lower-case, as libvirt prints domain UUIDs. */
  uuid: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The UUID namespace of kvmon's socket-guest names (RFC 9562 section 5.5, name-based with SHA-1). */
const NAMESPACE = Buffer.from("6b766d6f6e2d736f636b65742d677374", "hex");

/** RFC 9562 UUIDv5 of `name` in kvmon's socket-guest namespace. */
export function socketGuestUuid(name: string): string {
  const h = createHash("sha1").update(NAMESPACE).update(name, "utf8").digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const socketGuestSchema = z
  .object({
    name: z
      .string()
      .min(1, "must not be empty")
      .max(GuestLimits.stringLength, `must be at most ${GuestLimits.stringLength} characters`),
    path: z.string().refine(isAbsolute, "must be an absolute path to the agent's unix socket"),
    uuid: z.string().regex(UUID, "must be a UUID (8-4-4-4-12 hex digits)").optional(),
  })
  .strict();

export const socketGuestsSchema = z
  .array(socketGuestSchema)
  .max(MAX_SOCKET_GUESTS)
  .default([])
  .transform((list, ctx): SocketGuest[] => {
    const seen = { name: new Set<string>(), path: new Set<string>(), uuid: new Set<string>() };
    return list.map((g, i) => {
      const guest = { name: g.name, path: g.path, uuid: (g.uuid ?? socketGuestUuid(g.name)).toLowerCase() };
      for (const key of ["name", "path", "uuid"] as const) {
        if (seen[key].has(guest[key]))
          ctx.addIssue({ code: "custom", message: `'${guest[key]}' is used twice`, path: [i, key] });
        seen[key].add(guest[key]);
      }
      return guest;
    });
  });

/**
 * Identity of the guest (OS, kernel, host name, timezone) and its logged-in users. Through libvirt: one
 * DOMAIN_GET_GUEST_INFO (OS|TIMEZONE|HOSTNAME, USERS); otherwise guest-get-osinfo, guest-get-host-name,
 * guest-get-timezone, guest-get-users, each only when the agent lists it.
 */
import { GuestInfoType } from "../../protocol/libvirt/index.ts";
import { QgaCommands } from "../../protocol/qga/index.ts";
import type { GuestIdentity, GuestUser } from "../../model/types.ts";
import type { GuestCall } from "./call.ts";
import { InfoParams } from "./info-params.ts";
import { boundText, capList, GuestLimits } from "./limits.ts";

const opt = (s: string | undefined) => (s === undefined ? null : boundText(s));

export async function readIdentity(g: GuestCall): Promise<GuestIdentity> {
  if (g.guestInfo) {
    const p = new InfoParams(
      await g.guestInfo(GuestInfoType.OS | GuestInfoType.TIMEZONE | GuestInfoType.HOSTNAME),
    );
    return {
      osId: p.text("os.id"),
      osName: p.text("os.name"),
      osPrettyName: p.text("os.pretty-name"),
      osVersionId: p.text("os.version-id"),
      kernelRelease: p.text("os.kernel-release"),
      kernelVersion: p.text("os.kernel-version"),
      machine: p.text("os.machine"),
      hostname: p.text("hostname"),
      timezone: p.text("timezone.name"),
      timezoneOffsetSeconds: p.int("timezone.offset"),
    };
  }
  const t = { timeoutMs: g.timeoutMs };
  const os = g.has("guest-get-osinfo") ? await g.qga.call(QgaCommands.osInfo, undefined, t) : {};
  const host = g.has("guest-get-host-name") ? await g.qga.call(QgaCommands.hostName, undefined, t) : null;
  const tz = g.has("guest-get-timezone") ? await g.qga.call(QgaCommands.timezone, undefined, t) : null;
  return {
    osId: opt(os.id),
    osName: opt(os.name),
    osPrettyName: opt(os["pretty-name"]),
    osVersionId: opt(os["version-id"]),
    kernelRelease: opt(os["kernel-release"]),
    kernelVersion: opt(os["kernel-version"]),
    machine: opt(os.machine),
    hostname: host ? boundText(host["host-name"]) : null,
    timezone: tz ? opt(tz.zone) : null,
    timezoneOffsetSeconds: tz ? tz.offset : null,
  };
}

export async function readUsers(g: GuestCall): Promise<GuestUser[] | null> {
  if (g.guestInfo) {
    const p = new InfoParams(await g.guestInfo(GuestInfoType.USERS));
    const n = p.count("user.count") ?? 0;
    if (n > GuestLimits.users) g.truncated.add("users");
    const out: GuestUser[] = [];
    for (let i = 0; i < Math.min(n, GuestLimits.users); i++) {
      out.push({
        name: p.text(`user.${i}.name`) ?? "",
        domain: p.text(`user.${i}.domain`),
        // libvirt gives milliseconds since the epoch.
        loginTime: (p.count(`user.${i}.login-time`) ?? 0) / 1000,
      });
    }
    return out;
  }
  if (!g.has("guest-get-users")) return null;
  const users = await g.qga.call(QgaCommands.users, undefined, { timeoutMs: g.timeoutMs });
  return capList(users, GuestLimits.users, "users", g.truncated).map((u) => ({
    name: boundText(u.user),
    domain: opt(u.domain),
    loginTime: u["login-time"],
  }));
}

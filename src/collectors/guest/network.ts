/**
 * Interfaces, MACs, addresses and in-guest counters from guest-network-get-interfaces. Not through
 * DOMAIN_GET_GUEST_INFO: libvirt 9.0's interface params carry no counters.
 */
import type { GuestInterface } from "../../model/types.ts";
import { QgaCommands } from "../../protocol/qga/index.ts";
import type { GuestCall } from "./call.ts";
import { guestCounter, type PreviousTotals } from "./counters.ts";
import { boundText, capList, GuestLimits } from "./limits.ts";

export async function readInterfaces(
  g: GuestCall,
  prev: PreviousTotals | undefined,
  now: number,
): Promise<{ interfaces: GuestInterface[]; totals: PreviousTotals } | null> {
  if (!g.has("guest-network-get-interfaces")) return null;
  const list = await g.qga.call(QgaCommands.networkInterfaces, undefined, { timeoutMs: g.timeoutMs });
  const next = new Map();
  const interfaces = capList(list, GuestLimits.interfaces, "interfaces", g.truncated).map((i) => {
    const name = boundText(i.name);
    const s = i.statistics;
    const c = (k: keyof NonNullable<typeof s>) =>
      guestCounter(s?.[k], `interface ${k}`, `${name}/${k}`, prev, now, next);
    const addrs = i["ip-addresses"] ?? [];
    if (addrs.length > GuestLimits.addressesPerInterface) g.truncated.add("addresses");
    return {
      name,
      mac: i["hardware-address"] === undefined ? null : boundText(i["hardware-address"]),
      addresses: addrs.slice(0, GuestLimits.addressesPerInterface).map((a) => ({
        type: a["ip-address-type"],
        address: boundText(a["ip-address"]),
        prefix: a.prefix,
      })),
      rxBytes: c("rx-bytes"),
      txBytes: c("tx-bytes"),
      rxPackets: c("rx-packets"),
      txPackets: c("tx-packets"),
      rxErrors: c("rx-errs"),
      txErrors: c("tx-errs"),
      rxDropped: c("rx-dropped"),
      txDropped: c("tx-dropped"),
    };
  });
  return { interfaces, totals: { at: now, totals: next } };
}

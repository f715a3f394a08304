/**
 * Guests outside libvirt (config guest.sockets) in the snapshot: each one a domain of its own, marked
 * `source: "socket"`, with id 0 and only the guest section the async sources merge in. libvirt knows nothing of
 * them, so the snapshot builder never sees them (its previous snapshot is libvirt's domains only) and the
 * host's domain counts leave them out.
 */
import { emptySample } from "../collectors/sample.ts";
import type { DomainTarget } from "../collectors/types.ts";
import type { DomainSample, Snapshot } from "../model/types.ts";

/** The snapshot without its socket guests (what the builder and the listing check compare with). */
export function libvirtDomains(snap: Snapshot | null): Snapshot | null {
  if (!snap?.domains.some((d) => d.source === "socket")) return snap;
  return { ...snap, domains: snap.domains.filter((d) => d.source !== "socket") };
}

/** The built snapshot with one domain per socket guest, all sorted by name like libvirt's. */
export function withSocketGuests(snap: Snapshot, guests: readonly DomainTarget[]): Snapshot {
  if (guests.length === 0) return snap;
  const domains = [...snap.domains, ...guests.map((g) => socketGuestSample(g, snap.finishedAt))];
  domains.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ...snap, domains };
}

function socketGuestSample(g: DomainTarget, now: number): DomainSample {
  return {
    source: "socket",
    ...emptySample(g, now, { status: "ok", skippedTotal: 0, lastCompleteAt: null }),
  };
}

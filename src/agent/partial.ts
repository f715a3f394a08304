/**
 * Recognises a record libvirt returned WITHOUT the domain's job (the NOWAIT flag: another job, e.g. a
 * migration or a hung monitor call, holds the domain's job lock). libvirt then still returns the stats it can
 * read without talking to QEMU (state, cgroup CPU time, tap counters) and leaves out those that need the
 * monitor. The most reliable tell (libvirt 9.0, qemuDomainGetStatsBalloon): `balloon.rss` is filled only
 * together with the monitor-side memory stats, i.e. only with the job, for every active domain. The agent
 * therefore always requests the BALLOON group.
 */
import { isActiveState, stateName } from "../model/state.ts";
import { DomainStatsGroup, type DomainStatsRecord } from "../protocol/libvirt/types.ts";

export function isPartial(record: DomainStatsRecord, requestedGroups: number): boolean {
  if ((requestedGroups & DomainStatsGroup.BALLOON) === 0) return false;
  const code = record.params.get("state.state");
  if (typeof code !== "number" || !isActiveState(stateName(code))) return false;
  return !record.params.has("balloon.rss");
}

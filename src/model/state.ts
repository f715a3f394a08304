/**
 * Names for libvirt's domain states and their reasons (virDomainState and the per-state virDomain*Reason enums
 * in libvirt's include/libvirt/libvirt-domain.h, as of libvirt 9.0). Reasons matter to operators: "paused" with
 * reason "ioerror" is a full disk, not a user action.
 */
import type { DomainStateName } from "./types.ts";

/** Every state name: virDomainState's in code order, then "unknown" (a code newer than this table). */
export const ALL_STATE_NAMES = [
  "nostate",
  "running",
  "blocked",
  "paused",
  "shutdown",
  "shutoff",
  "crashed",
  "pmsuspended",
  "unknown",
] as const satisfies readonly DomainStateName[];

/** virDomainState's names, indexed by code. */
const STATE_NAMES: readonly DomainStateName[] = ALL_STATE_NAMES.slice(0, -1);

const REASONS: Record<DomainStateName, readonly string[]> = {
  nostate: ["unknown"],
  running: [
    "unknown",
    "booted",
    "migrated",
    "restored",
    "from_snapshot",
    "unpaused",
    "migration_canceled",
    "save_canceled",
    "wakeup",
    "crashed",
    "postcopy",
    "postcopy_failed",
  ],
  blocked: ["unknown"],
  paused: [
    "unknown",
    "user",
    "migration",
    "save",
    "dump",
    "ioerror",
    "watchdog",
    "from_snapshot",
    "shutting_down",
    "snapshot",
    "crashed",
    "starting_up",
    "postcopy",
    "postcopy_failed",
    "api_error",
  ],
  shutdown: ["unknown", "user"],
  shutoff: [
    "unknown",
    "shutdown",
    "destroyed",
    "crashed",
    "migrated",
    "saved",
    "failed",
    "from_snapshot",
    "daemon",
  ],
  crashed: ["unknown", "panicked"],
  pmsuspended: ["unknown"],
  unknown: ["unknown"],
};

/** Every state name, in virDomainState order (for domain counts that list zero states too). */
export const DOMAIN_STATE_NAMES: readonly DomainStateName[] = STATE_NAMES;

/** A count per state name, every state (and "unknown") at 0: the shape of HostSample.domainsByState. */
export function zeroStateCounts(): Record<DomainStateName, number> {
  const counts = { unknown: 0 } as Record<DomainStateName, number>;
  for (const s of STATE_NAMES) counts[s] = 0;
  return counts;
}

/** @example stateName(3) // "paused" */
export function stateName(code: number): DomainStateName {
  return STATE_NAMES[code] ?? "unknown";
}

/** @example reasonName("paused", 5) // "ioerror"; an unknown code gives "reason_<code>" so nothing is lost */
export function reasonName(state: DomainStateName, code: number): string {
  return REASONS[state][code] ?? `reason_${code}`;
}

/** States in which a QEMU process exists, so runtime counters (CPU, block, net) are meaningful. */
export function isActiveState(state: DomainStateName): boolean {
  return state !== "shutoff" && state !== "nostate" && state !== "unknown";
}

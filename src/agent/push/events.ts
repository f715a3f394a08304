/**
 * libvirt's domain lifecycle events as the kvmon server takes them (POST /api/v1/push/events, a JSON array):
 * time received, domain name and uuid, the event's and its detail's names in lower case, as libvirt's
 * virDomainEventType and virDomainEvent*DetailType enums name them (libvirt-domain.h, libvirt 9.0).
 */
import type { LifecycleEvent } from "../../protocol/libvirt/types.ts";

/** The shape the server's schema (src/model/lifecycle-event.ts on the server's side) validates. */
export interface PushedEvent {
  time: number;
  domain: string;
  uuid: string | null;
  type: string;
  detail: string | null;
}

/** Event names by virDomainEventType code, each with its detail names by code. */
const EVENTS: readonly (readonly [string, readonly string[]])[] = [
  ["defined", ["added", "updated", "renamed", "from_snapshot"]],
  ["undefined", ["removed", "renamed"]],
  ["started", ["booted", "migrated", "restored", "from_snapshot", "wakeup", "recreated"]],
  [
    "suspended",
    [
      "paused",
      "migrated",
      "ioerror",
      "watchdog",
      "restored",
      "from_snapshot",
      "api_error",
      "postcopy",
      "postcopy_failed",
    ],
  ],
  ["resumed", ["unpaused", "migrated", "from_snapshot", "postcopy", "postcopy_failed"]],
  ["stopped", ["shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from_snapshot"]],
  ["shutdown", ["finished", "guest", "host"]],
  ["pmsuspended", ["memory", "disk"]],
  ["crashed", ["panicked", "crashloaded"]],
];

/** A code newer than this table is `unknown` (type) or null (detail), never a wrong name. */
export function pushedEvent(e: LifecycleEvent, time: number): PushedEvent {
  const known = EVENTS[e.event];
  return {
    time,
    domain: e.domain.name,
    uuid: e.domain.uuid || null,
    type: known?.[0] ?? "unknown",
    detail: known?.[1][e.detail] ?? null,
  };
}

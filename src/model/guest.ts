/** The guest section with nothing known yet: the agent not heard from, every part null. */
import type { GuestSample } from "./types.ts";

/** The parts of a guest section that the guest's answers fill, one per concern. */
export type GuestParts = Omit<GuestSample, "sampledAt" | "agent" | "truncated" | "custom">;

/** Every part unknown (null). */
export function emptyGuestParts(): GuestParts {
  return {
    identity: null,
    users: null,
    cpu: null,
    load: null,
    memory: null,
    vcpus: null,
    clock: null,
    filesystems: null,
    disks: null,
    interfaces: null,
  };
}

export function emptyGuestSample(sampledAt: number): GuestSample {
  return {
    sampledAt,
    agent: { status: "absent", version: null, supportedCommands: 0, lastError: null, lastSeenAt: null },
    ...emptyGuestParts(),
    custom: null,
    truncated: [],
  };
}

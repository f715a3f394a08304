/** The guest section with nothing known yet: the agent not heard from, every part null. */
import type { GuestSample } from "./types.ts";

export function emptyGuestSample(sampledAt: number): GuestSample {
  return {
    sampledAt,
    agent: { status: "absent", version: null, supportedCommands: 0, lastError: null, lastSeenAt: null },
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
    custom: null,
    truncated: [],
  };
}

/**
 * What the guest view remembers per guest between calls: the agent's command list (refreshed on
 * AGENT_LIFECYCLE and after the agent went away), its health, when each tier is next due, the latest parts and
 * the previous counter totals for rates. One per running QEMU process (a restarted domain starts over).
 */
import { emptyGuestParts, type GuestParts } from "../../model/guest.ts";
import type { GuestAgentStatus, GuestCustomSeries, GuestSample } from "../../model/types.ts";
import type { PreviousTotals } from "./counters.ts";
import type { CpuTicks } from "./cpu.ts";

export type Tier = "fast" | "medium" | "slow";

export class GuestState {
  readonly id: number;
  /** Enabled commands of the agent (guest-info); null until read or after the agent (re)connected. */
  commands: Set<string> | null = null;
  version: string | null = null;
  status: GuestAgentStatus = "absent";
  lastError: string | null = null;
  lastSeenAt: number | null = null;
  /** No call before this (epoch ms): back-off of an absent or unresponsive agent. */
  retryAt = 0;
  /** Consecutive absent/unresponsive cycles (the back-off doubles with them). */
  misses = 0;
  readonly due: Record<Tier, number> = { fast: 0, medium: 0, slow: 0 };
  readonly parts: GuestParts = emptyGuestParts();
  /** Series of each declared custom command (by its index in guest.custom) that the guest answered. */
  readonly custom = new Map<number, GuestCustomSeries[]>();
  /** Lists cut at their cap, per tier (a tier's entry is replaced when it runs again). */
  readonly truncated: Record<Tier, Set<string>> = { fast: new Set(), medium: new Set(), slow: new Set() };
  prevCpu: CpuTicks | undefined;
  prevDisks: PreviousTotals | undefined;
  prevInterfaces: PreviousTotals | undefined;

  constructor(id: number) {
    this.id = id;
  }

  /** The sample of what is known now. */
  view(now: number): GuestSample {
    const truncated = new Set([...this.truncated.fast, ...this.truncated.medium, ...this.truncated.slow]);
    return {
      sampledAt: now,
      agent: {
        status: this.status,
        version: this.version,
        supportedCommands: this.commands?.size ?? 0,
        lastError: this.lastError,
        lastSeenAt: this.lastSeenAt,
      },
      ...this.parts,
      // In declaration order, whichever tier ran last.
      custom:
        this.custom.size === 0
          ? null
          : [...this.custom.entries()].sort(([a], [b]) => a - b).flatMap(([, series]) => series),
      truncated: [...truncated].sort(),
    };
  }
}

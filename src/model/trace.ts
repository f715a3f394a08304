/**
 * The KVM exit tracer's answers (issue 12): a domain's counts, its recent events and the tracer's status. The
 * tracer (src/tracer) produces them, the agent serves them, the fleet server relays them unchanged and the CLI
 * and the dashboard's API client read them; in the model so every one of them names the same types.
 */

export interface CountRow {
  vcpu: number;
  event: string;
  reason: string;
  /** Port, MMIO address or MSR (hex); "" for events not counted per target; "other" past the row limit. */
  target: string;
  count: number;
}

export interface SecondCounts {
  /** Start of the second, epoch seconds. */
  second: number;
  /** Events recorded in that second, by event name. */
  counts: Record<string, number>;
}

export interface DomainCounts {
  domain: string;
  /** While on: now; after: the seconds traced. */
  seconds: number;
  total: number;
  /** Per event: count and rate (count / seconds traced). */
  events: Record<string, { count: number; perSecond: number }>;
  /** Sorted by count, highest first. */
  rows: CountRow[];
  /** Per second while on, oldest first (the last hour at most). */
  series: SecondCounts[];
}

export interface RecentEvent {
  /** When the kernel recorded it, epoch ms (microsecond resolution). */
  time: number;
  vcpu: number;
  event: string;
  reason: string;
  details: Record<string, string | number>;
}

export interface TracerHealth {
  /** Events decoded in this run (all domains). */
  eventsRead: number;
  /** Events the kernel overwrote before they were read: per-CPU overrun, plus lost counts the pages carry. */
  eventsLost: number;
  /** Events from a thread no longer traced (read after its domain's filter changed). */
  eventsUnmatched: number;
  /** Pages that were corrupt (decoding stopped early on them). */
  corruptPages: number;
  /** CPU the reader spent decoding and aggregating, seconds. */
  cpuSeconds: number;
  polls: number;
}

export interface DomainStatus {
  domain: string;
  on: boolean;
  startedAt: number;
  until: number;
  stoppedAt: number | null;
  /** vCPU index by thread id, as last resolved. */
  vcpuThreads: Record<string, number>;
  total: number;
}

export interface TracerStatus {
  on: boolean;
  /** The instance's directory while on. */
  instance: string | null;
  /** The run covers every running domain (and new ones) until this time (epoch ms). */
  allUntil: number | null;
  /** Events enabled in the instance, `system:name`. */
  events: string[];
  /** Default events this kernel does not have. */
  unavailable: string[];
  /**
   * Enabled events that produced nothing so far in this run: on a host whose KVM never fires them (kvm_pvm:
   * kvm_exit) a zero is not the truth, so the status says so instead of showing zeros.
   */
  silent: string[];
  domains: DomainStatus[];
  health: TracerHealth;
}

/** GET /api/v1/trace/{domain}/events (the agent) and its relay by the fleet server. */
export interface RecentEvents {
  domain: string;
  events: RecentEvent[];
}

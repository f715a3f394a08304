/**
 * A host as the API shows it. The agent is up while its last push is within 3 push intervals; libvirt is
 * reachable while the pushed snapshot is fresh, because an agent only makes a new snapshot when its libvirt
 * call succeeds (it keeps pushing the last one, stale, while libvirt is down).
 */
import type { HostRecord } from "./state.ts";

export interface HostView {
  name: string;
  agentUp: boolean;
  libvirtReachable: boolean;
  lastPushAt: number | null;
  /** When the agent finished the last snapshot (epoch ms). */
  collectedAt: number | null;
  version: string | null;
  hostname: string | null;
  hostUuid: string | null;
  libvirtVersion: string | null;
  domains: number;
  /** Whether the server can route control calls to the agent (registered with --agent-url). */
  control: boolean;
}

export function hostView(h: HostRecord, now: number, pushIntervalMs: number): HostView {
  const fresh = (t: number | null | undefined) => t != null && now - t <= 3 * pushIntervalMs;
  const snap = h.snapshot;
  return {
    name: h.name,
    agentUp: fresh(h.lastPushAt),
    libvirtReachable: fresh(h.lastPushAt) && fresh(snap?.finishedAt),
    lastPushAt: h.lastPushAt,
    collectedAt: snap?.finishedAt ?? null,
    version: h.version,
    hostname: snap?.agent.hostname ?? null,
    hostUuid: snap?.agent.hostUuid ?? null,
    libvirtVersion: snap?.host.libvirtVersion ?? null,
    domains: snap?.domains.length ?? 0,
    control: h.agent !== null,
  };
}

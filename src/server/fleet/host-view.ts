/**
 * A host as the API shows it. The agent is up while its last push is within 3 push intervals; libvirt is
 * reachable while the pushed snapshot is fresh, because an agent only makes a new snapshot when its libvirt
 * call succeeds (it keeps pushing the last one, stale, while libvirt is down). Host CPU and memory come from
 * the pushed snapshot (the agent's host-usage collector); the server itself never asks libvirt.
 */
import { z } from "zod";
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
  /** Busy share of all the host's CPUs over the agent's last interval, 0..1; null when not known. */
  cpuUsageRatio: number | null;
  /** Host memory used (total − free − buffers − cached) and total, in bytes; null when not known. */
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  /** Whether the server can route control calls to the agent (registered with --agent-url). */
  control: boolean;
}

const nullableNumber = z.number().nullable();
const nullableString = z.string().nullable();

/** HostView as a schema: the OpenAPI document's answer of GET /api/v1/hosts (tsc fails when the two drift). */
export const hostViewSchema: z.ZodType<HostView> = z.object({
  name: z.string(),
  agentUp: z.boolean(),
  libvirtReachable: z.boolean(),
  lastPushAt: nullableNumber,
  collectedAt: nullableNumber,
  version: nullableString,
  hostname: nullableString,
  hostUuid: nullableString,
  libvirtVersion: nullableString,
  domains: z.number(),
  cpuUsageRatio: nullableNumber.describe("busy share of all host CPUs, 0..1"),
  memoryUsedBytes: nullableNumber,
  memoryTotalBytes: nullableNumber,
  control: z.boolean(),
});

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
    // `?.` on usage too: a snapshot stored by an older server predates the field.
    cpuUsageRatio: snap?.host.usage?.cpuRatio ?? null,
    memoryUsedBytes: snap?.host.usage?.memory?.usedBytes ?? null,
    memoryTotalBytes: snap?.host.usage?.memory?.totalBytes ?? null,
    control: h.agent !== null,
  };
}

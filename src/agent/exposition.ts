/**
 * The agent's /metrics text: a Snapshot in the catalog's exposition format (src/metrics), families in registry
 * order, every domain series labelled `domain` and `uuid`. Rendered once per snapshot and cached, so a scrape
 * costs a string copy; the few agent-level lines that change between snapshots are appended per scrape.
 */
import type { Collector } from "../collectors/types.ts";
import type { Emit } from "../metrics/catalog.ts";
import { FamilyWriter } from "../metrics/exposition.ts";
import type { DomainSample, Snapshot } from "../model/types.ts";
import type { AgentStatus } from "./agent.ts";
import { exposeAgent, exposeCollectorRuns, exposeSources, selfMetrics } from "./self-metrics.ts";
import type { ConnectionStatus } from "./source.ts";

const DOMAIN_LABELS = ["domain", "uuid"] as const;

function exposeFreshness(d: DomainSample, emit: Emit): void {
  const s = d.stats;
  // Both reasons always present (0 or 1), so the series do not appear and vanish as the status changes.
  emit(selfMetrics.skipped, s.status === "partial" ? 1 : 0, ["partial"]);
  emit(selfMetrics.skipped, s.status === "missing" ? 1 : 0, ["missing"]);
  emit(selfMetrics.skippedTotal, s.skippedTotal);
  if (s.lastCompleteAt !== null) emit(selfMetrics.lastComplete, s.lastCompleteAt / 1000);
}

/** Makes the Emit for series sharing `base` labels (e.g. a domain's `domain` and `uuid`). */
export type EmitterFor = (baseNames: readonly string[], baseValues: readonly string[]) => Emit;

/**
 * Emits every series derived from one snapshot (domains, host, collector runs), in /metrics order: the text
 * writer below and the push path (src/agent/push) both go through here, so a pushed series is exactly a line of
 * /metrics.
 */
export function exposeSnapshot(snap: Snapshot, collectors: readonly Collector[], emitter: EmitterFor): void {
  for (const c of collectors) {
    if (c.kind === "host") {
      c.expose(snap.host, emitter([], []));
      continue;
    }
    for (const d of snap.domains) c.expose(d, emitter(DOMAIN_LABELS, [d.name, d.uuid]));
  }
  // A socket guest has no bulk stats to be fresh or skipped (socket-guests.ts).
  for (const d of snap.domains)
    if (d.source !== "socket") exposeFreshness(d, emitter(DOMAIN_LABELS, [d.name, d.uuid]));
  exposeCollectorRuns(snap, emitter([], []));
  exposeSources(snap, emitter([], []));
}

/** Everything derived from one snapshot as /metrics text; cache the result per snapshot. */
export function renderSnapshot(snap: Snapshot, collectors: readonly Collector[]): string {
  const w = new FamilyWriter();
  for (const c of collectors) for (const s of c.metrics) w.declare(s);
  exposeSnapshot(snap, collectors, (names, values) => w.emitter(names, values));
  return w.render();
}

/**
 * The agent-level lines, rendered per scrape (connection state can change between snapshots), plus `extra`
 * families (the process metrics) when given.
 */
export function renderAgent(
  status: AgentStatus,
  conn: ConnectionStatus,
  snap: Snapshot | null,
  extra?: (emit: Emit) => void,
): string {
  const w = new FamilyWriter();
  exposeAgentLines(status, conn, snap, w.emitter([], []), extra);
  return w.render();
}

/** The agent-level series of `renderAgent`, to any Emit. */
export function exposeAgentLines(
  status: AgentStatus,
  conn: ConnectionStatus,
  snap: Snapshot | null,
  emit: Emit,
  extra?: (emit: Emit) => void,
): void {
  exposeAgent(status, conn, snap, emit);
  extra?.(emit);
}

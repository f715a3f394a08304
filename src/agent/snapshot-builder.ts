/**
 * Turns one bulk stats reply into the next Snapshot: per-domain freshness (ok / partial / missing), the
 * collectors' work (timed, isolated), host info, and the bookkeeping that keeps rates honest and series clean:
 * - rates are computed against the domain's last COMPLETE sample, over the measured time since it;
 * - a domain listed but absent from the reply keeps its last values, marked missing;
 * - a domain gone from both the reply and the listing is forgotten entirely (no stale series, no stale state).
 */
import { type CollectorFailure, runDomainCollectors, runHostCollectors } from "../collectors/run.ts";
import { domainJob, emptyHostSample } from "../collectors/sample.ts";
import type { DomainCollector, HostCollector, HostQueries } from "../collectors/types.ts";
import {
  type AgentIdentity,
  type DomainSample,
  type HostSample,
  SNAPSHOT_SCHEMA_VERSION,
  type Snapshot,
} from "../model/types.ts";
import type { DomainStatsRecord } from "../protocol/libvirt/types.ts";
import type { ProblemLog } from "./log.ts";
import type { MetadataCache } from "./metadata-cache.ts";
import { isPartial } from "./partial.ts";
import type { ProcessStartTimes } from "./process-start.ts";

export interface BuilderOptions {
  domainCollectors: readonly DomainCollector[];
  hostCollectors: readonly HostCollector[];
  /** The groups the bulk call requested (partial-record detection depends on them). */
  statsGroups: number;
  metadata: MetadataCache;
  processStarts: ProcessStartTimes | undefined;
  problems: ProblemLog;
  queries: HostQueries;
  identity: AgentIdentity;
  clock: () => number;
}

export class SnapshotBuilder {
  private readonly opts: BuilderOptions;
  private readonly complete = new Map<string, DomainSample>();
  private host: HostSample | undefined;

  constructor(opts: BuilderOptions) {
    this.opts = opts;
  }

  /** A new libvirt connection: host info is read again (versions may have changed with a libvirtd restart). */
  connectionChanged(): void {
    this.host = undefined;
  }

  async build(
    prev: Snapshot | null,
    records: readonly DomainStatsRecord[],
    listed: ReadonlySet<string> | null,
    startedAt: number,
  ): Promise<Snapshot> {
    const { clock, metadata, processStarts } = this.opts;
    const now = clock();
    const previous = new Map((prev?.domains ?? []).map((d) => [d.uuid, d]));
    const node = this.host?.node ?? null;
    const partial = new Set(
      records.filter((r) => isPartial(r, this.opts.statsGroups)).map((r) => r.domain.uuid),
    );
    const starts = await Promise.all(
      records.map((r) => processStarts?.get(r.domain.name, r.domain.uuid, r.domain.id)),
    );
    const jobs = records.map((r, i) => {
      const uuid = r.domain.uuid;
      const last = previous.get(uuid);
      const isPart = partial.has(uuid);
      return domainJob(r, {
        previous: this.complete.get(uuid),
        metadata: metadata.get(uuid),
        processStartedAt: starts[i],
        node,
        now,
        stats: {
          status: isPart ? "partial" : "ok",
          skippedTotal: (last?.stats.skippedTotal ?? 0) + (isPart ? 1 : 0),
          lastCompleteAt: isPart ? (last?.stats.lastCompleteAt ?? null) : now,
        },
      });
    });
    const failures: CollectorFailure[] = [];
    const runs = runDomainCollectors(this.opts.domainCollectors, jobs, failures);
    const host = emptyHostSample();
    const hostInput = { queries: this.opts.queries, records, previous: this.host, now };
    runs.push(...(await runHostCollectors(this.opts.hostCollectors, hostInput, host, failures)));
    this.host = host;

    const fresh = jobs.map((j) => j.out);
    for (const d of fresh) if (!partial.has(d.uuid)) this.complete.set(d.uuid, d);
    const domains = [...fresh];
    const present = new Set(fresh.map((d) => d.uuid));
    for (const [uuid, d] of previous) {
      // Listed but absent from the reply: it still exists, keep its last values marked. Otherwise it is gone.
      if (present.has(uuid) || !listed?.has(uuid)) continue;
      domains.push({
        ...d,
        stats: { ...d.stats, status: "missing", skippedTotal: d.stats.skippedTotal + 1 },
      });
      present.add(uuid);
    }
    this.forgetGone(present);
    this.logFailures(failures, fresh);
    domains.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return {
      schemaVersion: SNAPSHOT_SCHEMA_VERSION,
      agent: this.opts.identity,
      startedAt,
      finishedAt: clock(),
      host,
      domains,
      collectors: runs,
      sources: [], // the agent's async sources add their status (async-sources.ts apply())
    };
  }

  /** After a failed call: the same domains, every one marked missing, so the data's age is visible. */
  stale(prev: Snapshot | null, startedAt: number): Snapshot | null {
    if (!prev) return null;
    const domains = prev.domains.map((d) => ({
      ...d,
      stats: { ...d.stats, status: "missing" as const, skippedTotal: d.stats.skippedTotal + 1 },
    }));
    return { ...prev, startedAt, finishedAt: this.opts.clock(), domains };
  }

  private forgetGone(present: ReadonlySet<string>): void {
    for (const uuid of this.complete.keys()) {
      if (present.has(uuid)) continue;
      this.complete.delete(uuid);
      this.opts.problems.forget(`domain:${uuid}:`);
    }
    this.opts.metadata.retain(present);
    this.opts.processStarts?.retain(present);
  }

  /** One line per problem per collector and domain (deduplicated), one line at recovery. */
  private logFailures(failures: CollectorFailure[], samples: readonly DomainSample[]): void {
    const { problems } = this.opts;
    const failed = new Set<string>();
    for (const f of failures) {
      const key = f.uuid ? `domain:${f.uuid}:${f.collector}` : `host:${f.collector}`;
      failed.add(key);
      const fields = { collector: f.collector, domain: f.domain, uuid: f.uuid };
      problems.problem(key, "collector failed", f.error, fields);
    }
    for (const s of samples) {
      for (const c of this.opts.domainCollectors) {
        const key = `domain:${s.uuid}:${c.name}`;
        const fields = { collector: c.name, domain: s.name, uuid: s.uuid };
        if (!failed.has(key)) problems.resolve(key, "collector recovered", fields);
      }
    }
    for (const c of this.opts.hostCollectors) {
      const key = `host:${c.name}`;
      if (!failed.has(key)) problems.resolve(key, "collector recovered", { collector: c.name });
    }
  }
}

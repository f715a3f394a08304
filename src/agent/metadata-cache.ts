/**
 * Cache of XML-derived domain metadata, so the expensive domain XML call is made once per domain and again
 * only when a lifecycle event says it may have changed (defined, started, stopped, ...), after a reconnect
 * (events may have been missed), or when a new domain appears in the stats. Fetches run in the background with
 * bounded concurrency and a timeout each, never inside the interval's critical path; a failed fetch keeps the
 * previous metadata and is retried on the next refresh.
 */
import { parseDomainMetadata } from "../collectors/domain-xml.ts";
import type { DomainMetadata, DomainSample } from "../model/types.ts";
import { type DomainRef, type LifecycleEvent, LifecycleEventType } from "../protocol/libvirt/types.ts";
import type { ProblemLog } from "./log.ts";
import type { HostSource } from "./source.ts";

interface Entry {
  metadata: DomainMetadata | undefined;
  stale: boolean;
}

export class MetadataCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Set<string>();
  private readonly deviceTriggered = new Set<string>();
  private readonly source: HostSource;
  private readonly problems: ProblemLog;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private readonly clock: () => number;
  /** XML fetches done (for tests and the self metrics). */
  fetches = 0;

  constructor(
    source: HostSource,
    problems: ProblemLog,
    opts: { timeoutMs: number; concurrency?: number; clock?: () => number },
  ) {
    this.source = source;
    this.problems = problems;
    this.timeoutMs = opts.timeoutMs;
    this.concurrency = opts.concurrency ?? 4;
    this.clock = opts.clock ?? Date.now;
  }

  get(uuid: string): DomainMetadata | undefined {
    return this.entries.get(uuid)?.metadata;
  }

  /** A lifecycle event: the XML may have changed (devices, tap names), or the domain is gone. */
  onEvent(e: LifecycleEvent): void {
    this.deviceTriggered.delete(e.domain.uuid);
    if (e.event === LifecycleEventType.UNDEFINED) {
      this.entries.delete(e.domain.uuid);
      this.problems.forget(`metadata:${e.domain.uuid}`);
      return;
    }
    const entry = this.entries.get(e.domain.uuid);
    if (entry) entry.stale = true;
  }

  /**
   * Marks a domain's metadata stale when the stats name a disk or NIC its XML did not have (hot-plug sends no
   * lifecycle event) or a tap name changed.
   */
  checkDevices(sample: Pick<DomainSample, "uuid" | "block" | "interfaces">): void {
    const entry = this.entries.get(sample.uuid);
    const md = entry?.metadata;
    if (!entry || !md || entry.stale) return;
    const disks = new Set(md.disks.map((d) => d.target));
    const nics = new Set(md.interfaces.map((n) => n.targetDev));
    const unknown =
      (sample.block ?? []).some((b) => !disks.has(b.name)) ||
      (sample.interfaces ?? []).some((n) => !nics.has(n.name));
    // At most one such re-read per domain until its next lifecycle event: if the XML still does not name the
    // device (e.g. an interface without a target dev), re-reading it every interval would not help.
    if (unknown && !this.deviceTriggered.has(sample.uuid)) {
      this.deviceTriggered.add(sample.uuid);
      entry.stale = true;
    }
  }

  /** After a reconnect: events may have been lost while down, so every entry is re-read once. */
  invalidateAll(): void {
    for (const e of this.entries.values()) e.stale = true;
  }

  /** Drops entries for domains that no longer exist. */
  retain(uuids: ReadonlySet<string>): void {
    for (const k of this.entries.keys()) {
      if (uuids.has(k)) continue;
      this.entries.delete(k);
      // A fetch that failed because the domain vanished left its problem open: nothing will resolve it now.
      this.problems.forget(`metadata:${k}`);
    }
    for (const k of this.deviceTriggered) if (!uuids.has(k)) this.deviceTriggered.delete(k);
  }

  /** Fetches the XML of domains that are new or stale; resolves when those fetches finish. */
  async refresh(domains: readonly DomainRef[]): Promise<void> {
    const todo = domains.filter((d) => {
      const e = this.entries.get(d.uuid);
      return (!e || e.stale) && !this.inFlight.has(d.uuid);
    });
    for (const d of todo) this.inFlight.add(d.uuid);
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const d = todo[next++]!;
        await this.fetch(d);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, todo.length) }, worker));
  }

  private async fetch(d: DomainRef): Promise<void> {
    const key = `metadata:${d.uuid}`;
    try {
      this.fetches++;
      const xml = await this.source.domainXml(d, this.timeoutMs);
      this.entries.set(d.uuid, { metadata: parseDomainMetadata(xml, this.clock()), stale: false });
      this.problems.resolve(key, "domain metadata readable again", { domain: d.name, uuid: d.uuid });
    } catch (e) {
      const prev = this.entries.get(d.uuid);
      // Keep what we had; stay stale so the next refresh retries.
      this.entries.set(d.uuid, { metadata: prev?.metadata, stale: true });
      this.problems.problem(key, "cannot read domain XML; keeping previous metadata", e, {
        domain: d.name,
        uuid: d.uuid,
      });
    } finally {
      this.inFlight.delete(d.uuid);
    }
  }
}

/**
 * What the agent needs from libvirt, and nothing more: one small interface so the scheduler, the metadata
 * cache and the tests do not depend on the client's internals. libvirt-source.ts implements it over the
 * project's native client (ReconnectingLibvirtConnection); tests implement it over recorded fixtures.
 */
import type { HostQueries } from "../collectors/types.ts";
import type { DomainRef, DomainStatsRecord, LifecycleEvent } from "../protocol/libvirt/types.ts";

export interface ConnectionStatus {
  /** True while a libvirt connection is up. */
  connected: boolean;
  /** "connected", "connecting", "backoff", ... as the client reports it. */
  state: string;
  /** Increments on every (re)connect: caches tied to a connection (host info, metadata) reset when it changes. */
  generation: number;
  /** When the current state began (epoch ms). */
  since: number;
  lastError: string | null;
}

export interface StatsRequest {
  /** DomainStatsGroup bits. */
  stats: number;
  /** DomainStatsFlag bits (the agent always sets NOWAIT). */
  flags: number;
  timeoutMs: number;
}

export interface HostSource extends HostQueries {
  /**
   * One CONNECT_GET_ALL_DOMAIN_STATS call: a record per domain. Rejects with the shared TimeoutError when no
   * reply comes within `req.timeoutMs` (the agent relies on it: it sets no timer of its own).
   */
  getAllDomainStats(req: StatsRequest): Promise<DomainStatsRecord[]>;
  /** Every domain (active and inactive). */
  listAllDomains(timeoutMs: number): Promise<DomainRef[]>;
  /** The domain's live XML. */
  domainXml(dom: DomainRef, timeoutMs: number): Promise<string>;
  /** Lifecycle events across reconnects; ends when the source is closed. */
  lifecycleEvents(): AsyncIterable<LifecycleEvent>;
  connection(): ConnectionStatus;
  /**
   * Calls `listener` each time a new connection is up (after connection() reflects it). Optional: without it
   * the agent collects from a new connection at the next interval.
   */
  onConnected?(listener: () => void): void;
  /** Starts connecting (returns at once; the connection comes up in the background). */
  start(): void;
  close(): Promise<void>;
}

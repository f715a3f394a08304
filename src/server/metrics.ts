/**
 * The fleet server's own metrics (`GET /metrics`, docs/server.md "Server metrics"): what ingest accepted and
 * refused per host, the series-limit refusals, each forward target's sender counters and spool depth, and the
 * process's own `process_*`/`nodejs_*` families. Counters live here; ingest feeds them through writeRoutes'
 * hooks (`ingestHooks()`), the forwarders are read at scrape time.
 *
 * The `host` label comes only from an authenticated host token (the principal), never from the request body,
 * so its values are bounded by the tokens an admin made; "" when the caller was not a host (an admin writing,
 * or no principal).
 */
import { counter, type Emit } from "../metrics/catalog.ts";
import { FamilyWriter } from "../metrics/exposition.ts";
import { processMetricsExposer } from "../metrics/process.ts";
import { exposeSender, senderFamilies } from "../metrics/sender.ts";
import type { Logger } from "../shared/logger.ts";
import type { Forwarder } from "./ingest/forward.ts";
import type { Principal, RejectReason, WriteRoutesOptions } from "./ingest/routes.ts";

const INGEST = "server: remote_write ingest (src/server/ingest/routes.ts)";
const FORWARD = "server: forward senders and spools (src/server/ingest/forward.ts)";

export const serverMetrics = {
  ingestRequests: counter(
    "kvmon_server_ingest_requests_total",
    "remote_write requests whose samples were stored (204, or 400 when the series limit refused some of them).",
    { labels: ["host"], source: INGEST },
  ),
  ingestSeries: counter("kvmon_server_ingest_series_total", "Series stored, summed over requests.", {
    labels: ["host"],
    source: INGEST,
  }),
  ingestSamples: counter("kvmon_server_ingest_samples_total", "Samples stored.", {
    labels: ["host"],
    source: INGEST,
  }),
  rejectedRequests: counter(
    "kvmon_server_ingest_rejected_requests_total",
    "remote_write requests refused, whole or in part, by reason: unauthorized, forbidden_host (403), unsupported_media (415), too_large (413), malformed (400: snappy or protobuf), invalid (400: label or sample rules), series_limit (400: new series over the host's limit; the others were stored), store (500: storing or spooling failed; the sender retries).",
    { labels: ["reason", "host"], source: INGEST },
  ),
  seriesLimitRefused: counter(
    "kvmon_server_series_limit_refused_series_total",
    "New series refused because their host was at its series limit.",
    { labels: ["host"], source: INGEST },
  ),
};

/** The forward targets' sender and spool families (the agent's push targets have the same, as `kvmon_push_*`). */
export const forwardMetrics = senderFamilies("kvmon_server_forward", FORWARD);

/** A rejection reason is logged at most once per host in this window; the ones in between are summed. */
export const REJECT_LOG_INTERVAL_MS = 60_000;

interface Ingested {
  requests: number;
  series: number;
  samples: number;
}

export interface ServerMetricsOptions {
  /** Where rejections are logged (rate-limited); absent: not logged. */
  logger?: Logger;
  now?: () => number;
}

const hostOf = (p: Principal | undefined): string => (p?.kind === "host" ? p.host : "");

export class ServerMetrics {
  private readonly accepted = new Map<string, Ingested>();
  /** `reason\0host` → requests. */
  private readonly rejected = new Map<string, number>();
  private readonly limitRefused = new Map<string, number>();
  /** `reason\0host` → when it was last logged, and the refusals since. */
  private readonly logged = new Map<string, { at: number; since: number }>();
  private readonly forwarders: Forwarder[] = [];
  private readonly process = processMetricsExposer();
  private readonly logger: Logger | undefined;
  private readonly now: () => number;

  constructor(opts: ServerMetricsOptions = {}) {
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
  }

  /** A forwarder whose targets /metrics shows (the config's `forward` list, the prometheus store's). */
  watch(forwarder: Forwarder): void {
    this.forwarders.push(forwarder);
  }

  /** writeRoutes' hooks, bound to these counters. */
  ingestHooks(): Required<Pick<WriteRoutesOptions, "onAccept" | "onReject">> {
    return {
      onAccept: (host, series, samples) => {
        let a = this.accepted.get(host);
        if (!a) this.accepted.set(host, (a = { requests: 0, series: 0, samples: 0 }));
        a.requests++;
        a.series += series;
        a.samples += samples;
      },
      onReject: (reason, count, principal) => this.reject(reason, count, hostOf(principal)),
    };
  }

  private reject(reason: RejectReason, count: number, host: string): void {
    const key = `${reason}\0${host}`;
    this.rejected.set(key, (this.rejected.get(key) ?? 0) + 1);
    if (reason === "series_limit") this.limitRefused.set(host, (this.limitRefused.get(host) ?? 0) + count);
    this.logReject(key, reason, count, host);
  }

  /** Logs the first refusal of a reason and host, then at most one line a window with the count since. */
  private logReject(key: string, reason: RejectReason, count: number, host: string): void {
    if (!this.logger) return;
    const now = this.now();
    const last = this.logged.get(key);
    if (last && now - last.at < REJECT_LOG_INTERVAL_MS) {
      last.since++;
      return;
    }
    this.logged.set(key, { at: now, since: 0 });
    this.logger.warn("ingest refused", {
      reason,
      host: host || null,
      ...(reason === "series_limit" ? { series: count } : {}),
      ...(last ? { refusedSinceLastLog: last.since } : {}),
    });
  }

  /** The exposition text (Prometheus format 0.0.4). */
  render(): string {
    const w = new FamilyWriter();
    const emit = w.emitter([], []);
    this.exposeIngest(emit);
    this.exposeForward(emit);
    this.process(emit);
    return w.render();
  }

  private exposeIngest(emit: Emit): void {
    const m = serverMetrics;
    for (const [host, a] of this.accepted) {
      emit(m.ingestRequests, a.requests, [host]);
      emit(m.ingestSeries, a.series, [host]);
      emit(m.ingestSamples, a.samples, [host]);
    }
    for (const [key, n] of this.rejected) emit(m.rejectedRequests, n, key.split("\0"));
    for (const [host, n] of this.limitRefused) emit(m.seriesLimitRefused, n, [host]);
  }

  private exposeForward(emit: Emit): void {
    for (const f of this.forwarders)
      for (const t of f.status())
        exposeSender(forwardMetrics, t.name, t.stats, { bytes: t.spoolBytes, batches: t.spoolBatches }, emit);
  }
}

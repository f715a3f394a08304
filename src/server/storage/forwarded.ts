/**
 * Storage = a Prometheus-compatible URL (issue 14, scale-out): reads go to the TSDB's query API (the
 * PrometheusStore), writes are forwarded to its remote_write endpoint with the agent's retry and spool
 * (src/server/ingest/forward.ts): an append resolves once the batch is fsync'd in the spool, so an ingest
 * request is acknowledged when the data is durable on this side, and a TSDB outage only fills the spool; an
 * append fails when the spool cannot be written, so the request is refused and retried.
 */
import { sortedLabels, type TimeSeries } from "../../protocol/remote-write/index.ts";
import type { Forwarder } from "../ingest/forward.ts";
import type { Labels, Matcher, SelectHints, Series, SeriesStore, TimeRange } from "./types.ts";

export class ForwardedStore implements SeriesStore {
  readonly #reads: SeriesStore;
  readonly #forwarder: Forwarder;

  /** Its sender and spool, for the server's metrics. */
  get forwarder(): Forwarder {
    return this.#forwarder;
  }

  constructor(reads: SeriesStore, forwarder: Forwarder) {
    this.#reads = reads;
    this.#forwarder = forwarder;
    forwarder.start();
  }

  append(batch: readonly Series[]): Promise<void> {
    const series: TimeSeries[] = batch
      .filter((s) => s.samples.length > 0)
      .map((s) => ({
        labels: sortedLabels(s.labels),
        samples: s.samples.map((x) => ({ value: x.v, timestamp: x.t })),
      }));
    try {
      this.#forwarder.forward(series);
      return Promise.resolve();
    } catch (e) {
      // A spool that cannot be written: the ingest answers 500, the agent retries.
      return Promise.reject(e as Error);
    }
  }

  select(matchers: readonly Matcher[], range: TimeRange, hints?: SelectHints): Promise<Series[]> {
    return this.#reads.select(matchers, range, hints);
  }

  series(matchers: readonly Matcher[], range: TimeRange): Promise<Labels[]> {
    return this.#reads.series(matchers, range);
  }

  labelNames(matchers: readonly Matcher[], range: TimeRange): Promise<string[]> {
    return this.#reads.labelNames(matchers, range);
  }

  labelValues(name: string, matchers: readonly Matcher[], range: TimeRange): Promise<string[]> {
    return this.#reads.labelValues(name, matchers, range);
  }

  async close(): Promise<void> {
    await this.#forwarder.stop();
    await this.#reads.close();
  }
}

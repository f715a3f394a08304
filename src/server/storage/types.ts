/**
 * The contract between the fleet server's query side (HTTP API, PromQL evaluator) and where samples live: the
 * embedded SQLite engine (`storage/embedded/`) or a Prometheus-compatible TSDB (`storage/prometheus/`, e.g.
 * VictoriaMetrics). Everything above this file is written against `SeriesStore` alone, so the API, the dashboard
 * and the engine calls work the same on either store.
 */

/** A series' identity: every label, `__name__` included. */
export type Labels = Readonly<Record<string, string>>;

/** One sample: time in milliseconds since the epoch (as remote_write carries it), and its value. */
export interface Sample {
  readonly t: number;
  readonly v: number;
}

export interface Series {
  readonly labels: Labels;
  /** Ascending by time, no two with the same time. */
  readonly samples: readonly Sample[];
}

/** A label matcher as PromQL writes it; regexes are anchored at both ends, as in Prometheus. */
export interface Matcher {
  readonly name: string;
  readonly op: "=" | "!=" | "=~" | "!~";
  readonly value: string;
}

export interface TimeRange {
  readonly startMs: number;
  readonly endMs: number;
}

/** What the query wants the samples for, so a store can answer from a rollup when the raw samples are not needed. */
export interface SelectHints {
  /** The query's step (0 or absent for an instant query). */
  readonly stepMs?: number;
  /**
   * The function the samples feed (`rate`, `avg_over_time`, `max_over_time`, ...; absent for a plain selector).
   * A store answers from a rollup only where the function's result stays correct on it.
   */
  readonly func?: string;
  /**
   * The caller takes rollup answers where raw samples still exist (the JSON range API's aggregated long ranges,
   * chosen by step). Unset (PromQL): raw samples wherever raw retention holds them, for Prometheus' exact
   * semantics; rollups only for the part of a range older than the raw samples.
   */
  readonly rollups?: boolean;
}

export interface SeriesStore {
  /**
   * Adds samples. Resolves only once they are durable (survive kill -9 of the process), so an ingest request is
   * acknowledged after this. Samples older than a series' newest are accepted when not duplicates; an exact
   * duplicate (same series, same time) is ignored, so a replay after a lost acknowledgement is harmless.
   */
  append(batch: readonly Series[]): Promise<void>;
  /** Every series matching all matchers with its samples inside the range (both ends included). */
  select(matchers: readonly Matcher[], range: TimeRange, hints?: SelectHints): Promise<Series[]>;
  /** Label sets of the matching series with a sample inside the range. */
  series(matchers: readonly Matcher[], range: TimeRange): Promise<Labels[]>;
  /** Sorted label names of the matching series (all series when `matchers` is empty). */
  labelNames(matchers: readonly Matcher[], range: TimeRange): Promise<string[]>;
  /** Sorted values of one label over the matching series. */
  labelValues(name: string, matchers: readonly Matcher[], range: TimeRange): Promise<string[]>;
  close(): Promise<void>;
}

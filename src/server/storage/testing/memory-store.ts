/**
 * A SeriesStore in memory, for unit tests of the query side and as the reference the other stores are compared
 * with in integration tests. Not durable: `append` resolves at once.
 */
import type { Labels, Matcher, Sample, Series, SeriesStore, TimeRange } from "../types.ts";

/** Whether a label set satisfies every matcher; a missing label reads as "", regexes are anchored (Prometheus). */
export function matchesAll(labels: Labels, matchers: readonly Matcher[]): boolean {
  return matchers.every((m) => {
    const v = labels[m.name] ?? "";
    switch (m.op) {
      case "=":
        return v === m.value;
      case "!=":
        return v !== m.value;
      case "=~":
        return new RegExp(`^(?:${m.value})$`).test(v);
      case "!~":
        return !new RegExp(`^(?:${m.value})$`).test(v);
    }
  });
}

function key(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export class MemoryStore implements SeriesStore {
  readonly #series = new Map<string, { labels: Labels; samples: Sample[] }>();

  append(batch: readonly Series[]): Promise<void> {
    for (const s of batch) {
      const k = key(s.labels);
      let entry = this.#series.get(k);
      if (entry === undefined) this.#series.set(k, (entry = { labels: { ...s.labels }, samples: [] }));
      const byTime = new Map(entry.samples.map((x) => [x.t, x]));
      for (const x of s.samples) if (!byTime.has(x.t)) byTime.set(x.t, { t: x.t, v: x.v });
      entry.samples = [...byTime.values()].sort((a, b) => a.t - b.t);
    }
    return Promise.resolve();
  }

  select(matchers: readonly Matcher[], range: TimeRange): Promise<Series[]> {
    const out: Series[] = [];
    for (const { labels, samples } of this.#matching(matchers)) {
      const inside = samples.filter((s) => s.t >= range.startMs && s.t <= range.endMs);
      if (inside.length > 0) out.push({ labels, samples: inside });
    }
    return Promise.resolve(out);
  }

  async series(matchers: readonly Matcher[], range: TimeRange): Promise<Labels[]> {
    return (await this.select(matchers, range)).map((s) => s.labels);
  }

  async labelNames(matchers: readonly Matcher[], range: TimeRange): Promise<string[]> {
    const names = new Set<string>();
    for (const labels of await this.series(matchers, range))
      for (const n of Object.keys(labels)) names.add(n);
    return [...names].sort();
  }

  async labelValues(name: string, matchers: readonly Matcher[], range: TimeRange): Promise<string[]> {
    const values = new Set<string>();
    for (const labels of await this.series(matchers, range)) {
      const v = labels[name];
      if (v !== undefined && v !== "") values.add(v);
    }
    return [...values].sort();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #matching(matchers: readonly Matcher[]): { labels: Labels; samples: Sample[] }[] {
    return [...this.#series.values()].filter((s) => matchesAll(s.labels, matchers));
  }
}

/** A SeriesStore in memory, for unit tests of what sits above the store (the API); no durability. */
import type { Labels, Matcher, Sample, Series, SeriesStore, TimeRange } from "../types.ts";

function matches(labels: Labels, ms: readonly Matcher[]): boolean {
  return ms.every((m) => {
    const v = labels[m.name] ?? "";
    if (m.op === "=") return v === m.value;
    if (m.op === "!=") return v !== m.value;
    const hit = new RegExp(`^(?:${m.value})$`).test(v);
    return m.op === "=~" ? hit : !hit;
  });
}

export class MemoryStore implements SeriesStore {
  private readonly stored = new Map<string, { labels: Labels; samples: Sample[] }>();

  append(batch: readonly Series[]): Promise<void> {
    for (const s of batch) {
      const key = JSON.stringify(Object.entries(s.labels).sort());
      const entry = this.stored.get(key) ?? { labels: s.labels, samples: [] };
      this.stored.set(key, entry);
      for (const x of s.samples) if (!entry.samples.some((y) => y.t === x.t)) entry.samples.push(x);
      entry.samples.sort((a, b) => a.t - b.t);
    }
    return Promise.resolve();
  }

  select(ms: readonly Matcher[], r: TimeRange): Promise<Series[]> {
    const out: Series[] = [];
    for (const s of this.stored.values()) {
      if (!matches(s.labels, ms)) continue;
      const samples = s.samples.filter((x) => x.t >= r.startMs && x.t <= r.endMs);
      if (samples.length > 0) out.push({ labels: s.labels, samples });
    }
    return Promise.resolve(out);
  }

  async series(ms: readonly Matcher[], r: TimeRange): Promise<Labels[]> {
    return (await this.select(ms, r)).map((s) => s.labels);
  }

  async labelNames(ms: readonly Matcher[], r: TimeRange): Promise<string[]> {
    return [...new Set((await this.series(ms, r)).flatMap((l) => Object.keys(l)))].sort();
  }

  async labelValues(name: string, ms: readonly Matcher[], r: TimeRange): Promise<string[]> {
    const values = (await this.series(ms, r)).map((l) => l[name]).filter((v): v is string => v !== undefined);
    return [...new Set(values)].sort();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

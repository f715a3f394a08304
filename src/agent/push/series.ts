/**
 * A snapshot as remote_write series: the same emitters that write /metrics (src/agent/exposition.ts), so every
 * pushed series is a line of the agent's /metrics, plus the agent's identity labels (`host`, `instance`), each
 * with one sample at the snapshot's time. Empty label values are left out, as a Prometheus scrape leaves them.
 */
import type { Collector } from "../../collectors/types.ts";
import type { Emit } from "../../metrics/catalog.ts";
import type { Snapshot } from "../../model/types.ts";
import { sortedLabels, type TimeSeries } from "../../protocol/remote-write/index.ts";
import { KvmonError } from "../../shared/errors.ts";
import { type EmitterFor, exposeSnapshot } from "../exposition.ts";

/** Collects emitted samples as series, all at one timestamp. */
export class SeriesCollector {
  readonly series: TimeSeries[] = [];
  private readonly identity: Readonly<Record<string, string>>;
  private readonly timestamp: number;

  constructor(identity: Readonly<Record<string, string>>, timestamp: number) {
    this.identity = identity;
    this.timestamp = timestamp;
  }

  readonly emitter: EmitterFor = (baseNames, baseValues): Emit => {
    return (spec, value, labelValues = []) => {
      if (labelValues.length !== spec.labels.length)
        throw new KvmonError(
          "METRIC_LABELS_MISMATCH",
          `${spec.name}: ${labelValues.length} label values for labels [${spec.labels}]`,
        );
      const labels: Record<string, string> = { ...this.identity, __name__: spec.name };
      baseNames.forEach((n, i) => (labels[n] = baseValues[i]!));
      spec.labels.forEach((n, i) => (labels[n] = labelValues[i]!));
      this.series.push({ labels: sortedLabels(labels), samples: [{ value, timestamp: this.timestamp }] });
    };
  };
}

/** The identity labels every pushed series carries: the host, and the agent's address as a scrape names it. */
export function identityLabels(snap: Snapshot, port: number): Record<string, string> {
  return { host: snap.agent.hostname, instance: `${snap.agent.hostname}:${port}` };
}

/** The snapshot's series (domains, host, collector runs), timestamped at the snapshot's end. */
export function snapshotSeries(
  snap: Snapshot,
  collectors: readonly Collector[],
  identity: Readonly<Record<string, string>>,
): TimeSeries[] {
  const c = new SeriesCollector(identity, snap.finishedAt);
  exposeSnapshot(snap, collectors, c.emitter);
  return c.series;
}

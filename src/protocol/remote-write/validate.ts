/**
 * The spec's label rules: `__name__` present with a metric name, every name of label syntax (`__` names are
 * reserved for the protocol but allowed, as Prometheus allows them), names sorted and unique, no empty value
 * (an empty value means "no such label" in Prometheus), samples in time order.
 */
import { RemoteWriteInvalidError } from "./errors.ts";
import type { Label, Sample, TimeSeries } from "./types.ts";

export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Why the series breaks a rule, or null when it is valid. */
export function seriesProblem(ts: TimeSeries): string | null {
  return labelsProblem(ts.labels) ?? samplesProblem(ts.samples);
}

/** Why a label set breaks a rule, or null (a receiver may remember the answer for a label set it sees again). */
export function labelsProblem(labels: readonly Label[]): string | null {
  let name: string | null = null;
  let prev: Label | null = null;
  for (const l of labels) {
    if (l.name === "") return "a label with an empty name";
    if (!LABEL_NAME.test(l.name)) return `label name ${JSON.stringify(l.name)} is not [a-zA-Z_][a-zA-Z0-9_]*`;
    if (l.value === "") return `label ${l.name} has an empty value`;
    if (prev !== null && l.name === prev.name) return `label ${l.name} appears twice`;
    if (prev !== null && l.name < prev.name) return `labels not sorted: ${l.name} after ${prev.name}`;
    if (l.name === "__name__") name = l.value;
    prev = l;
  }
  if (name === null) return "no __name__ label";
  if (!METRIC_NAME.test(name)) return `metric name ${JSON.stringify(name)} is not [a-zA-Z_:][a-zA-Z0-9_:]*`;
  return null;
}

/** Why a series' samples break a rule (out of time order), or null. */
export function samplesProblem(samples: readonly Sample[]): string | null {
  for (let i = 1; i < samples.length; i++)
    if (samples[i]!.timestamp < samples[i - 1]!.timestamp)
      return `samples out of time order at ${samples[i]!.timestamp}`;
  return null;
}

/** Throws RemoteWriteInvalidError naming the first invalid series. */
export function validateSeries(series: readonly TimeSeries[]): void {
  series.forEach((ts, i) => {
    const problem = seriesProblem(ts);
    if (problem !== null) throw new RemoteWriteInvalidError(i, problem);
  });
}

/** Labels from a name -> value record: sorted, empty values left out (Prometheus' "no such label"). */
export function sortedLabels(labels: Readonly<Record<string, string>>): Label[] {
  return Object.keys(labels)
    .filter((n) => labels[n] !== "")
    .sort()
    .map((name) => ({ name, value: labels[name]! }));
}

/**
 * Reads Prometheus text exposition back into samples (name and labels as one record, value), independently of
 * the writer in src/metrics: for tests that compare /metrics with what was pushed or stored.
 */

export interface ExposedSample {
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;

function parseValue(v: string): number {
  if (v === "+Inf") return Number.POSITIVE_INFINITY;
  if (v === "-Inf") return Number.NEGATIVE_INFINITY;
  return v === "NaN" ? Number.NaN : Number(v);
}

export function parseExposition(text: string): ExposedSample[] {
  const unescape = (v: string) => v.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
  return text
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((line) => {
      const m = LINE.exec(line);
      if (!m) throw new Error(`not an exposition line: ${line}`);
      const labels: Record<string, string> = { __name__: m[1]! };
      for (const [, n, v] of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[n!] = unescape(v!);
      return { labels, value: parseValue(m[3]!) };
    });
}

/** A label set as a comparable string: sorted, empty values left out (Prometheus' "no such label"). */
export function labelKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(
    Object.entries(labels)
      .filter(([, v]) => v !== "")
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

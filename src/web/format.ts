/** Units as the dashboard shows them: bytes with binary prefixes, %, rates per second, ms, relative times. */
const BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const DECIMAL = ["", "k", "M", "G", "T"];

function scaled(v: number, base: number, units: readonly string[]): [number, string] {
  let i = 0;
  let x = Math.abs(v);
  while (x >= base && i < units.length - 1) {
    x /= base;
    i++;
  }
  return [Math.sign(v) * x, units[i]!];
}

function digits(x: number): string {
  const a = Math.abs(x);
  return a === 0 ? "0" : a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export function bytes(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return "–";
  const [x, u] = scaled(v, 1024, BINARY);
  return `${digits(x)} ${u}`;
}

export function bytesPerSecond(v: number | null | undefined): string {
  return v == null ? "–" : `${bytes(v)}/s`;
}

/** A ratio (1 = 100 %) as a percentage. */
export function percent(ratio: number | null | undefined): string {
  return ratio == null || !Number.isFinite(ratio) ? "–" : `${digits(ratio * 100)} %`;
}

export function perSecond(v: number | null | undefined, unit = "ops"): string {
  if (v == null || !Number.isFinite(v)) return "–";
  const [x, u] = scaled(v, 1000, DECIMAL);
  return `${digits(x)} ${u}${unit}/s`;
}

export function millis(seconds: number | null | undefined): string {
  return seconds == null ? "–" : `${digits(seconds * 1000)} ms`;
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago". */
export function ago(epochMs: number | null | undefined, now = Date.now()): string {
  if (epochMs == null) return "never";
  const s = Math.max(0, Math.round((now - epochMs) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** What a chart's values are; "seconds" are shown in ms (latencies). */
export type Unit = "bytes" | "bytesPerSecond" | "percent" | "opsPerSecond" | "seconds";

export const formatters: Record<Unit, (v: number | null) => string> = {
  bytes,
  bytesPerSecond,
  percent,
  opsPerSecond: (v) => perSecond(v),
  seconds: millis,
};

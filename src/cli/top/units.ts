/** Numbers in at most six characters, for table cells and blocks. `null` (not known) shows as "-". */

const UNITS = ["", "K", "M", "G", "T", "P"];

/**
 * Bytes (or bytes per second) in binary units: three significant digits, unit letter after.
 * @example formatBytes(1536) // "1.5K"
 * @example formatBytes(123456789) // "118M"
 */
export function formatBytes(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return "-";
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const sign = n < 0 ? "-" : "";
  if (u === 0) return `${sign}${Math.round(v)}`;
  return `${sign}${v < 10 ? v.toFixed(1) : String(Math.round(v))}${UNITS[u]}`;
}

/**
 * A count or rate in decimal units (ops/s, packets/s, exits/s).
 * @example formatCount(12345) // "12.3k"
 */
export function formatCount(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return "-";
  const a = Math.abs(n);
  if (a < 10) return n === Math.round(n) ? String(n) : n.toFixed(1);
  if (a < 1000) return String(Math.round(n));
  const units = ["k", "M", "G", "T"];
  let v = a;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${n < 0 ? "-" : ""}${v < 10 ? v.toFixed(1) : String(Math.round(v))}${units[u]}`;
}

/** A percentage with one decimal. */
export function formatPercent(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return "-";
  return n.toFixed(1);
}

/**
 * Seconds as a duration: "59.0s", "12:34" (minutes:seconds), "3h04", "5d02".
 * @example formatDuration(754) // "12:34"
 */
export function formatDuration(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return "-";
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, "0")}`;
}

/**
 * When a guest filesystem fills up, from the trend of its fullness: a least-squares line through the points
 * shown, extended to the limit (1 = full). Said only where the trend means something: enough points, rising,
 * a line that explains most of the movement (R²), and full within a year; nothing otherwise (a flat, falling or
 * noisy filesystem gets no guess). Pure, so it is tested in Node.
 */
import type { Points } from "./series.ts";

/** Fewer points than this say too little about a trend. */
export const MIN_POINTS = 6;
/** The share of the variance the line must explain. */
export const MIN_R2 = 0.8;
/** Further out than this is no forecast worth showing. */
export const HORIZON_SECONDS = 365 * 86400;

export interface Forecast {
  /** From the last point until the line reaches the limit; 0 when it already has. */
  secondsToFull: number;
  /** Growth per second, in the points' unit. */
  slope: number;
  /** How well the line fits (0..1). */
  r2: number;
}

/** The fill-up forecast of `points` ([epoch seconds, fullness]) against `limit`, or null when there is none. */
export function fillUp(points: Points, limit = 1): Forecast | null {
  const n = points.length;
  if (n < MIN_POINTS) return null;
  // Centred on the means: epoch seconds squared lose the precision a slope of bytes per second needs.
  const mt = points.reduce((a, [t]) => a + t, 0) / n;
  const mv = points.reduce((a, [, v]) => a + v, 0) / n;
  let stt = 0;
  let stv = 0;
  let svv = 0;
  for (const [t, v] of points) {
    stt += (t - mt) ** 2;
    stv += (t - mt) * (v - mv);
    svv += (v - mv) ** 2;
  }
  if (stt === 0 || svv === 0) return null;
  const slope = stv / stt;
  const r2 = (stv * stv) / (stt * svv);
  if (slope <= 0 || r2 < MIN_R2) return null;
  const last = points[n - 1]![0];
  const atLast = mv + slope * (last - mt);
  const secondsToFull = Math.max(0, (limit - atLast) / slope);
  return secondsToFull > HORIZON_SECONDS ? null : { secondsToFull, slope, r2 };
}

/** "full in ~3 d", "full in ~5 h", "full now". */
export function fillUpText(f: Forecast): string {
  const s = f.secondsToFull;
  if (s < 60) return "full now";
  const [n, unit] = s < 5400 ? [s / 60, "min"] : s < 172_800 ? [s / 3600, "h"] : [s / 86400, "d"];
  return `full in ~${Math.round(n)} ${unit}`;
}

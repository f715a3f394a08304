/**
 * The statistics PromQL's functions and aggregations share, computed as Prometheus 2.42 computes them, so results
 * agree to the last bits where the order of operations matters.
 */

/** Prometheus' avg and avg_over_time: a running mean, which stays finite where the sum would overflow. */
export function runningMean(values: Iterable<number>): number {
  let mean = 0;
  let count = 0;
  for (const v of values) {
    count++;
    // An infinite mean stays as it is unless a NaN or an infinity of the other sign arrives.
    if ((mean === Infinity || mean === -Infinity) && (v === mean || Number.isFinite(v))) continue;
    mean += v / count - mean / count;
  }
  return mean;
}

/** Population variance by Welford's method (stdvar, stddev, and their _over_time forms). */
export function variance(values: Iterable<number>): number {
  let count = 0;
  let mean = 0;
  let aux = 0;
  for (const v of values) {
    count++;
    const delta = v - mean;
    mean += delta / count;
    aux += delta * (v - mean);
  }
  return aux / count;
}

/**
 * The φ-quantile by linear interpolation between the two nearest ranks (quantile, quantile_over_time): NaN for
 * no values or a NaN φ, -Inf below 0, +Inf above 1; NaN values sort first, as in Prometheus.
 */
export function quantile(phi: number, values: readonly number[]): number {
  if (values.length === 0 || Number.isNaN(phi)) return NaN;
  if (phi < 0) return -Infinity;
  if (phi > 1) return Infinity;
  const sorted = [...values].sort((a, b) => (Number.isNaN(a) ? -1 : Number.isNaN(b) ? 1 : a - b));
  const n = sorted.length;
  const rank = phi * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return (sorted[lower] as number) * (1 - weight) + (sorted[upper] as number) * weight;
}

/** Kahan-Neumaier compensated sum, one step: the new sum and compensation. */
function kahanAdd(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  const next = Math.abs(sum) >= Math.abs(inc) ? c + (sum - t + inc) : c + (inc - t + sum);
  return [t, next];
}

/**
 * Least-squares line through the samples, x in seconds from `interceptMs` (deriv, predict_linear): slope per
 * second and the value at `interceptMs`. Constant values give slope 0 (NaN for infinities), as in Prometheus.
 */
export function linearRegression(
  samples: readonly { t: number; v: number }[],
  interceptMs: number,
): { slope: number; intercept: number } {
  let n = 0;
  let [sumX, cX, sumY, cY, sumXY, cXY, sumX2, cX2] = [0, 0, 0, 0, 0, 0, 0, 0];
  const initY = samples[0]?.v ?? NaN;
  let constY = true;
  for (const { t, v } of samples) {
    if (constY && n > 0 && v !== initY) constY = false;
    n++;
    const x = (t - interceptMs) / 1000;
    [sumX, cX] = kahanAdd(x, sumX, cX);
    [sumY, cY] = kahanAdd(v, sumY, cY);
    [sumXY, cXY] = kahanAdd(x * v, sumXY, cXY);
    [sumX2, cX2] = kahanAdd(x * x, sumX2, cX2);
  }
  if (constY) return Number.isFinite(initY) ? { slope: 0, intercept: initY } : { slope: NaN, intercept: NaN };
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return { slope, intercept: sumY / n - (slope * sumX) / n };
}

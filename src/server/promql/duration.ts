/** PromQL durations (`5m`, `1h30m`, `90s`, `500ms`) and the API's duration parameters (also plain seconds). */

const UNIT_MS: Readonly<Record<string, number>> = {
  y: 365 * 24 * 3600_000,
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNITS = ["y", "w", "d", "h", "m", "s", "ms"] as const;

/** Milliseconds of a Prometheus duration string, or undefined when `text` is not one. */
export function parsePromDuration(text: string): number | undefined {
  if (text === "") return undefined;
  const m = DURATION.exec(text);
  if (m === null) return undefined;
  let ms = 0;
  UNITS.forEach((unit, i) => {
    const n = m[i + 1];
    if (n !== undefined) ms += Number(n) * (UNIT_MS[unit] as number);
  });
  return ms;
}

/** Milliseconds of `5m`-style text or of a number of seconds (`30`, `0.5`); undefined when neither. */
export function parseDurationOrSeconds(text: string): number | undefined {
  const duration = parsePromDuration(text);
  if (duration !== undefined) return duration;
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return undefined;
  return Math.round(Number(text) * 1000);
}

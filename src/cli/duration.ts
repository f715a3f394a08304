/** Durations on the command line: `10` (seconds), `500ms`, `10s`, `2m`, `1h`. */
import { UsageError } from "./errors.ts";

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds of `value`, or `fallbackMs` when absent; a UsageError naming the flag when malformed. */
export function durationFlag(
  flag: string,
  value: string | undefined,
  fallbackMs: number,
  limits: { minMs?: number; maxMs?: number } = {},
): number {
  if (value === undefined) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[(m[2] ?? "s") as keyof typeof UNIT_MS] : NaN;
  const min = limits.minMs ?? 1;
  const max = limits.maxMs ?? 86_400_000;
  if (!(ms >= min && ms <= max))
    throw new UsageError(
      `--${flag} must be a duration from ${format(min)} to ${format(max)} (e.g. 10s, 2m, 500ms), got '${value}'`,
    );
  return Math.round(ms);
}

/** 1500 -> "1.5s", 120000 -> "2m", 250 -> "250ms". */
export function format(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000 || ms % 60_000 !== 0) return `${+(ms / 1000).toFixed(1)}s`;
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 60_000}m`;
}

/**
 * Structured logs: one JSON object per line ({ts, level, msg, ...fields}) on stderr. Problems are
 * deduplicated: `problem(key, ...)` logs the first occurrence of a problem (per key, e.g. per collector and
 * domain), counts repeats silently, and `resolve(key)` logs the recovery once with how often it repeated. A
 * VM failing every interval thus gives two lines, not one per interval (the log spam peers are known for).
 */
import type { Fields, Level, Logger } from "../shared/logger.ts";

export { type Fields, type Level, Logger } from "../shared/logger.ts";

interface Open {
  since: number;
  repeats: number;
  message: string;
}

export class ProblemLog {
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly open = new Map<string, Open>();

  constructor(logger: Logger, clock: () => number = Date.now) {
    this.logger = logger;
    this.clock = clock;
  }

  /** Logs the problem the first time `key` fails (or when its message changes); later repeats are counted. */
  problem(key: string, msg: string, error: unknown, fields: Fields = {}, level: Level = "warn"): void {
    const message = error instanceof Error ? error.message : String(error);
    const seen = this.open.get(key);
    if (seen && seen.message === message) {
      seen.repeats++;
      return;
    }
    this.open.set(key, { since: this.clock(), repeats: 0, message });
    this.logger.log(level, msg, { ...fields, problem: key, error: message });
  }

  /** Logs recovery once if `key` had a problem; a no-op otherwise (so callers can call it on every success). */
  resolve(key: string, msg: string, fields: Fields = {}): void {
    const seen = this.open.get(key);
    if (!seen) return;
    this.open.delete(key);
    this.logger.info(msg, {
      ...fields,
      problem: key,
      repeats: seen.repeats,
      durationSeconds: (this.clock() - seen.since) / 1000,
    });
  }

  /** Forgets problems whose key starts with `prefix` without logging (their subject is gone, e.g. undefined VM). */
  forget(prefix: string): void {
    for (const k of this.open.keys()) if (k.startsWith(prefix)) this.open.delete(k);
  }

  openKeys(): string[] {
    return [...this.open.keys()];
  }
}

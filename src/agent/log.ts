/**
 * Structured logs: one JSON object per line ({ts, level, msg, ...fields}) on stderr. Problems are
 * deduplicated: `problem(key, ...)` logs the first occurrence of a problem (per key, e.g. per collector and
 * domain), counts repeats silently, and `resolve(key)` logs the recovery once with how often it repeated. A
 * VM failing every interval thus gives two lines, not one per interval (the log spam peers are known for).
 */

export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, string | number | boolean | null | undefined>;

export class Logger {
  private readonly write: (line: string) => void;
  private readonly min: number;
  private readonly clock: () => number;

  constructor(write: (line: string) => void, level: Level = "info", clock: () => number = Date.now) {
    this.write = write;
    this.min = ORDER[level];
    this.clock = clock;
  }

  log(level: Level, msg: string, fields: Fields = {}): void {
    if (ORDER[level] < this.min) return;
    const entry = { ts: new Date(this.clock()).toISOString(), level, msg, ...fields };
    this.write(`${JSON.stringify(entry)}\n`);
  }
  debug(msg: string, fields?: Fields): void {
    this.log("debug", msg, fields);
  }
  info(msg: string, fields?: Fields): void {
    this.log("info", msg, fields);
  }
  warn(msg: string, fields?: Fields): void {
    this.log("warn", msg, fields);
  }
  error(msg: string, fields?: Fields): void {
    this.log("error", msg, fields);
  }
}

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

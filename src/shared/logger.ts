/** Structured logs: one JSON object per line ({ts, level, msg, ...fields}), written by the agent and the server. */
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

/**
 * The control API's audit log: one JSON line per control call (who, from where, which guest, what, outcome,
 * duration, time), appended to a file and mirrored to the agent's logger. Each record is written and
 * fdatasync'ed before the next one starts, so a crash loses at most the record being written. The file is
 * created 0600 (its directory 0700) and rotated by size: `audit.log` -> `audit.log.1` -> ... up to `keep`
 * old files, so it stays bounded. Secrets never reach it: the caller is the token's id, and a passthrough
 * command's arguments are recorded by name only (guest-set-user-password carries a password).
 */
import { mkdir, open, rename, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "../log.ts";

export const DEFAULT_AUDIT_LOG = "/var/lib/kvmon/agent/audit.log";

export interface AuditRecord {
  /** ISO 8601, when the call arrived. */
  time: string;
  /** The token's id, or "anonymous" when no valid token came with the call. */
  who: string;
  /** The caller's address, when known. */
  from: string | null;
  action: "exec" | "agent-command" | "trace-on" | "trace-off" | "console" | "disk-audit";
  /** The guest's name (`all` for a trace switch over every domain). */
  guest: string;
  /** What was asked (program and arguments, or the command and its argument names). */
  what: Record<string, unknown>;
  outcome: "ok" | "denied" | "error";
  /** HTTP status of the answer. */
  status: number;
  /** The error code when outcome is not ok. */
  code?: string;
  /** exec: the program's exit code, when it exited. */
  exitCode?: number | null;
  durationMs: number;
}

export interface AuditLogOptions {
  path: string;
  /** Rotate when the file would grow past this. Default 16 MiB. */
  maxBytes?: number;
  /** Rotated files kept. Default 4. */
  keep?: number;
  logger: Logger;
}

export class AuditLog {
  readonly path: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly logger: Logger;
  private file: FileHandle | null = null;
  private size = 0;
  /** Records are written one after another, in arrival order. */
  private tail: Promise<void> = Promise.resolve();

  constructor(opts: AuditLogOptions) {
    this.path = opts.path;
    this.maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
    this.keep = opts.keep ?? 4;
    this.logger = opts.logger;
  }

  /** Creates or opens the file; the agent calls it at start so a bad path stops it there. */
  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const file = await open(this.path, "a", 0o600);
    await file.chmod(0o600); // an existing file keeps its mode otherwise
    this.size = (await file.stat()).size;
    this.file = file;
  }

  /** Appends one record (and logs it); resolves when it is on disk. */
  write(record: AuditRecord): Promise<void> {
    const { what, ...flat } = record;
    this.logger.info("audit", { ...flat, what: JSON.stringify(what) });
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    const run = () => this.append(line);
    const done = this.tail.then(run, run);
    this.tail = done.catch(() => undefined);
    return done;
  }

  private async append(line: Buffer): Promise<void> {
    if (!this.file) await this.open();
    if (this.size > 0 && this.size + line.length > this.maxBytes) await this.rotate();
    await this.file!.write(line);
    await this.file!.datasync();
    this.size += line.length;
  }

  private async rotate(): Promise<void> {
    await this.file?.close();
    this.file = null;
    for (let i = this.keep - 1; i >= 1; i--)
      await rename(`${this.path}.${i}`, `${this.path}.${i + 1}`).catch(ignoreMissing);
    await rename(this.path, `${this.path}.1`).catch(ignoreMissing);
    await this.open();
  }

  async close(): Promise<void> {
    await this.tail;
    await this.file?.close();
    this.file = null;
  }
}

function ignoreMissing(e: NodeJS.ErrnoException): void {
  if (e.code !== "ENOENT") throw e;
}

/**
 * The one way the lab runs host programs: execFile (no shell, so arguments are never re-parsed), a timeout
 * on every call, and a typed CommandError carrying stderr when anything goes wrong.
 */
import { execFile } from "node:child_process";
import { CommandError } from "./errors.ts";

export interface RunOptions {
  /** Kill the program (SIGKILL) after this many milliseconds. Required: nothing in the lab waits forever. */
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the program's stdin, which is then closed. */
  input?: string;
  /** Hint attached to the CommandError when the program fails. */
  hint?: string;
  /** Output larger than this fails the call (default 64 MiB). */
  maxBuffer?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs `file args...`; resolves with its output when it exits 0, rejects with a CommandError otherwise. */
export function run(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const shown = [file, ...args].map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a)).join(" ");
  const display = shown.length > 200 ? `${shown.slice(0, 200)}...` : shown;
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: options.timeoutMs,
        killSignal: "SIGKILL",
        env: options.env ?? process.env,
        cwd: options.cwd,
        maxBuffer: options.maxBuffer ?? 64 * 1024 * 1024,
        encoding: "utf8",
      },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr });
          return;
        }
        const e = error as NodeJS.ErrnoException & { killed?: boolean; code?: unknown; signal?: string };
        const exitCode = typeof e.code === "number" ? e.code : null;
        const timedOut = e.killed === true && e.signal === "SIGKILL" && exitCode === null;
        const detail = exitCode === null && !timedOut ? `${stderr}${e.message}` : stderr;
        reject(
          new CommandError(display, {
            exitCode,
            stdout,
            stderr: detail,
            timedOut,
            hint: options.hint,
            cause: e,
          }),
        );
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

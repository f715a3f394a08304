/**
 * The quick start's two long-running children, `kvmon server` and `kvmon agent`, started with the same Node,
 * flags and entry as this process. Each runs in its own process group, so a terminal's Ctrl-C reaches only the
 * quick start, which then stops them in order (one SIGTERM each, SIGKILL after a grace period): a child never
 * gets two signals and cuts its own shutdown short. Their logs go to files, the terminal keeps the summary.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { CliError } from "../errors.ts";

/** How long a child may take to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 15_000;

export interface Child {
  readonly what: string;
  readonly process: ChildProcess;
  /** Resolves with a description of how it ended ("code 1", "signal SIGKILL"). */
  readonly exited: Promise<string>;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  what: string;
  args: string[];
  /** Extra Node flags (the agent's --no-memory-reducer, as bin/kvmon gives it). */
  nodeFlags?: string[];
  logFile: string;
}

/**
 * Starts `kvmon ARGS` as this process was started (bundle or sources), its stdout and stderr into `logFile`,
 * without the env keys `dropEnv` names.
 */
function spawnKvmon(o: SpawnOptions, dropEnv: (key: string) => boolean): Child {
  const log = openSync(o.logFile, "w", 0o600);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !dropEnv(k)));
  const child = spawn(
    process.execPath,
    [...process.execArgv, ...(o.nodeFlags ?? []), process.argv[1]!, ...o.args],
    { stdio: ["ignore", log, log], detached: true, env },
  );
  closeSync(log);
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`));
    child.once("error", (e) => resolve(e.message));
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  let stopping: Promise<void> | null = null;
  const stop = async () => {
    if (!running()) return;
    child.kill("SIGTERM");
    // Unref'd: a pending grace timer must not hold this process open after the child is gone.
    await Promise.race([exited, sleep(STOP_GRACE_MS, undefined, { ref: false })]);
    if (running()) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  // Once: a second SIGTERM would find the child's handler gone and cut its shutdown short.
  return { what: o.what, process: child, exited, stop: () => (stopping ??= stop()) };
}

/** Children started in order and stopped in reverse order, once; none starts after the stop began. */
export class ChildGroup {
  private readonly children: Child[] = [];
  private stopped: Promise<void> | null = null;
  private readonly dropEnv: (key: string) => boolean;

  constructor(dropEnv: (key: string) => boolean) {
    this.dropEnv = dropEnv;
    // Whatever ends this process (an uncaught error), no child outlives it.
    process.once("exit", () => this.children.forEach((c) => c.process.kill("SIGKILL")));
  }

  get stopping(): boolean {
    return this.stopped !== null;
  }

  start(o: SpawnOptions): Child {
    if (this.stopping)
      throw new CliError(`stopped before the ${o.what} started`, { code: "QUICKSTART_STOPPED" });
    const c = spawnKvmon(o, this.dropEnv);
    this.children.push(c);
    return c;
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      for (const c of [...this.children].reverse()) await c.stop();
    })();
    return this.stopped;
  }

  /** The first child to exit, and how. */
  firstExit(): Promise<{ child: Child; how: string }> {
    return Promise.race(this.children.map((child) => child.exited.then((how) => ({ child, how }))));
  }
}

/** The last lines of a child's log, for an error message. */
export function logTail(file: string, lines = 5): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/**
 * Resolves once `url` answers 200; fails when the child exits first (with its log's last lines) or after
 * `timeoutMs`.
 */
export async function untilHealthy(child: Child, url: string, logFile: string, timeoutMs: number) {
  let ended: string | null = null;
  void child.exited.then((how) => (ended = how));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (ended !== null)
      throw new CliError(`the ${child.what} exited (${ended}) while starting:\n${logTail(logFile)}`, {
        code: "QUICKSTART_START",
        hint: `its whole log: ${logFile}`,
      });
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(200);
  }
  throw new CliError(`the ${child.what} did not answer ${url} within ${timeoutMs / 1000} s`, {
    code: "QUICKSTART_START",
    hint: `its log: ${logFile}`,
  });
}

/**
 * Running the real `kvmon` binary in integration tests: as a child process (output collected, a line waited
 * for, a signal sent), or in a tmux pane (a real pseudo-terminal: keys sent, the screen captured, `stty -a`
 * compared). Every tmux session a test starts is named kvmon-test-<pid>-... and killed in `after`.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";

export const KVMON = new URL("../bin/kvmon", import.meta.url).pathname;
const run = promisify(execFile);

export interface Kvmon {
  child: ChildProcess;
  stdout: () => string;
  stdoutBytes: () => Buffer;
  stderr: () => string;
  /** Resolves when stdout matches. */
  until: (pattern: RegExp, timeoutMs?: number) => Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startKvmon(args: string[], env: Record<string, string> = {}, input?: string | Buffer): Kvmon {
  const child = spawn(KVMON, args, {
    env: { ...process.env, KVMON_FROM_SOURCE: "1", NO_COLOR: "", ...env },
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  if (input !== undefined) child.stdin!.end(input);
  const out: Buffer[] = [];
  let err = "";
  child.stdout!.on("data", (b: Buffer) => out.push(b));
  child.stderr!.setEncoding("utf8").on("data", (t: string) => (err += t));
  const exit = once(child, "close").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return {
    child,
    stdout: () => Buffer.concat(out).toString("utf8"),
    stdoutBytes: () => Buffer.concat(out),
    stderr: () => err,
    exit,
    async until(pattern, timeoutMs = 30_000) {
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
        if (pattern.test(Buffer.concat(out).toString("utf8"))) return;
        if (child.exitCode !== null) break;
      }
      throw new Error(
        `kvmon ${args.join(" ")}: no ${pattern} in stdout:\n${Buffer.concat(out)}\nstderr:\n${err}`,
      );
    },
  };
}

/** Runs kvmon to its end. */
export async function kvmon(args: string[], env: Record<string, string> = {}, input?: string | Buffer) {
  const k = startKvmon(args, env, input);
  const { code, signal } = await k.exit;
  return { code, signal, stdout: k.stdout(), stderr: k.stderr() };
}

export async function tmux(...args: string[]): Promise<string> {
  return (await run("tmux", args)).stdout;
}

/** A tmux session running a shell in a fixed-size pane. */
export async function tmuxSession(name: string, cwd: string): Promise<void> {
  await tmux("new-session", "-d", "-s", name, "-x", "160", "-y", "45", "-c", cwd, "sh");
}

export const capture = (target: string): Promise<string> => tmux("capture-pane", "-p", "-J", "-t", target);

/** Waits until the pane's screen matches. */
export async function untilScreen(target: string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  let screen = "";
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
    screen = await capture(target);
    if (pattern.test(screen)) return screen;
  }
  throw new Error(`no ${pattern} on the screen of ${target}:\n${screen}`);
}

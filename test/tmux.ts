/**
 * A real pseudo-terminal for CLI tests: a command in a tmux session on a private server socket (so tests never
 * see the operator's sessions), keys sent as a person types them, the screen read with capture-pane. The
 * command runs under `sh -c` with a marker printed at its end (`KVMON-EXIT=<code>`), and the terminal's
 * `stty -a` before and after it written to files, so a test can check that the terminal was given back.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = new URL("..", import.meta.url).pathname;

export class TmuxPane {
  readonly socket: string;
  readonly session = "kvmon-test";
  readonly dir: string;

  private constructor(socket: string, dir: string) {
    this.socket = socket;
    this.dir = dir;
  }

  /** Starts `kvmon <args>` in a width x height terminal; env is added to the command's environment. */
  static async start(
    dir: string,
    args: string,
    opts: { width?: number; height?: number; env?: Record<string, string> } = {},
  ): Promise<TmuxPane> {
    const socket = `kvmon-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const env = Object.entries({ KVMON_FROM_SOURCE: "1", ...opts.env })
      .map(([k, v]) => `${k}='${v}'`)
      .join(" ");
    const script =
      `cd '${ROOT}' && stty -a > '${join(dir, "stty.before")}'; ` +
      `env -u NO_COLOR ${env} bin/kvmon ${args}; code=$?; ` +
      `stty -a > '${join(dir, "stty.after")}'; echo "KVMON-EXIT=$code"; sleep 600`;
    await run("tmux", [
      "-L",
      socket,
      "new-session",
      "-d",
      "-s",
      "kvmon-test",
      "-x",
      String(opts.width ?? 160),
      "-y",
      String(opts.height ?? 40),
      "sh",
      "-c",
      script,
    ]);
    return new TmuxPane(socket, dir);
  }

  private tmux(...args: string[]) {
    return run("tmux", ["-L", this.socket, ...args]);
  }

  /** Sends keys one call each (tmux key names such as Enter, Tab, C-c, or literal text). */
  async send(...keys: string[]): Promise<void> {
    for (const k of keys) {
      await this.tmux("send-keys", "-t", this.session, k);
      await sleep(150); // readline treats keys arriving together as a paste (a Tab would be inserted)
    }
  }

  /** Types a line and presses Enter. */
  async line(text: string): Promise<void> {
    await this.tmux("send-keys", "-t", this.session, "-l", text);
    await sleep(150);
    await this.send("Enter");
  }

  /** The visible screen, plus `history` lines scrolled off above it; tmux drops trailing spaces ("kvmon>"). */
  async capture(history = 0): Promise<string> {
    const { stdout } = await this.tmux("capture-pane", "-p", "-t", this.session, "-S", String(-history));
    return stdout;
  }

  /** Waits until the screen matches, and returns it; fails with the last screen after `timeoutMs`. */
  async waitFor(
    re: RegExp | ((screen: string) => boolean),
    timeoutMs = 30_000,
    history = 0,
  ): Promise<string> {
    const ok = typeof re === "function" ? re : (s: string) => re.test(s);
    const deadline = Date.now() + timeoutMs;
    let screen = "";
    while (Date.now() < deadline) {
      screen = await this.capture(history);
      if (ok(screen)) return screen;
      await sleep(250);
    }
    throw new Error(`timed out waiting for ${String(re)}; screen:\n${screen}`);
  }

  /** Resizes the terminal (the program gets SIGWINCH). */
  async resize(width: number, height: number): Promise<void> {
    await this.tmux("resize-window", "-t", this.session, "-x", String(width), "-y", String(height));
  }

  /** The pid of the kvmon process the pane's shell started (its one child). */
  async commandPid(): Promise<number> {
    const { stdout } = await this.tmux("display-message", "-p", "-t", this.session, "#{pane_pid}");
    const { stdout: kids } = await run("pgrep", ["-P", stdout.trim()]);
    return Number(kids.trim().split("\n")[0]);
  }

  /** `stty -a` before and after the command ran (after: once it ended). */
  async stty(): Promise<{ before: string; after: string }> {
    return {
      before: await readFile(join(this.dir, "stty.before"), "utf8"),
      after: await readFile(join(this.dir, "stty.after"), "utf8"),
    };
  }

  async kill(): Promise<void> {
    await this.tmux("kill-server").catch(() => undefined);
  }
}

/**
 * The terminal as the interactive commands use it (console, trace): colours only on a TTY and without
 * NO_COLOR; raw mode and the alternate screen entered through one TerminalSession that puts the terminal back
 * exactly once, whichever way the command ends (normally, on an error, after a trapped SIGINT/SIGTERM/SIGHUP,
 * or at process exit), so the operator's shell never stays raw or on the alternate screen.
 */

/** What the session needs of stdin (a tty.ReadStream has all of it). */
export interface TerminalInput {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?: (mode: boolean) => unknown;
}

export interface TerminalOutput {
  isTTY?: boolean;
  write: (text: string) => unknown;
}

/** Where signals and process exit are subscribed (process; a fake in unit tests). */
export interface SignalHub {
  on(event: string, fn: (...args: unknown[]) => void): unknown;
  off(event: string, fn: (...args: unknown[]) => void): unknown;
}

/** The signals that end an interactive command, with the exit status a shell reports for each (128 + N). */
export const EXIT_SIGNALS = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
export type ExitSignal = keyof typeof EXIT_SIGNALS;

/** Colours on a TTY, unless NO_COLOR is set (to anything non-empty, https://no-color.org). */
export function useColour(out: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return out.isTTY === true && !env.NO_COLOR;
}

const SGR = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, cyan: 36 } as const;
export type Paint = Record<keyof typeof SGR, (text: string) => string>;

/** Text styling that is a no-op when colours are off. */
export function paint(on: boolean): Paint {
  const style = (code: number) => (text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);
  return Object.fromEntries(Object.entries(SGR).map(([k, code]) => [k, style(code)])) as Paint;
}

export const ALT_SCREEN_ON = "\x1b[?1049h\x1b[H";
export const ALT_SCREEN_OFF = "\x1b[?1049l";
export const CURSOR_HIDE = "\x1b[?25l";
export const CURSOR_SHOW = "\x1b[?25h";
/** Home and clear to the end: a frame redrawn in place without flicker. */
export const REDRAW = "\x1b[H\x1b[J";

/**
 * Subscribes SIGINT, SIGTERM and SIGHUP: `onSignal` runs instead of node's default (exit at once), so the
 * command can clean up (restore the terminal, switch the tracer off) and exit with 128 + N itself. Returns the
 * unsubscribe; until then every further signal is caught too, so a second Ctrl-C cannot cut the clean-up short.
 */
export function trapExitSignals(
  onSignal: (signal: ExitSignal) => void,
  hub: SignalHub = process,
): () => void {
  const handlers = (Object.keys(EXIT_SIGNALS) as ExitSignal[]).map((signal) => {
    const handler = () => onSignal(signal);
    hub.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) hub.off(signal, handler);
  };
}

export interface TerminalSessionOptions {
  input: TerminalInput;
  output: TerminalOutput;
  /** Raw mode on stdin (console): keys go through unprocessed, Ctrl-C included. Only when stdin is a TTY. */
  raw?: boolean;
  /** The alternate screen with the cursor hidden (trace's live view). Only when the output is a TTY. */
  altScreen?: boolean;
  /** Where process exit is subscribed (process; a fake in unit tests). */
  hub?: SignalHub;
}

/** Raw mode and the alternate screen, undone by restore() or, failing that, at process exit. */
export class TerminalSession {
  readonly #opts: TerminalSessionOptions;
  readonly #hub: SignalHub;
  #rawBefore: boolean | null = null;
  #alt = false;
  #active = false;
  readonly #atExit = () => this.restore();

  constructor(opts: TerminalSessionOptions) {
    this.#opts = opts;
    this.#hub = opts.hub ?? process;
  }

  enter(): this {
    const { input, output } = this.#opts;
    if (this.#opts.raw && input.isTTY && input.setRawMode) {
      this.#rawBefore = input.isRaw === true;
      input.setRawMode(true);
    }
    if (this.#opts.altScreen && output.isTTY) {
      output.write(ALT_SCREEN_ON + CURSOR_HIDE);
      this.#alt = true;
    }
    this.#active = true;
    this.#hub.on("exit", this.#atExit);
    return this;
  }

  /** Puts the terminal back as it was; safe to call more than once. */
  restore(): void {
    if (!this.#active) return;
    this.#active = false;
    const { input, output } = this.#opts;
    if (this.#rawBefore !== null) {
      input.setRawMode!(this.#rawBefore);
      this.#rawBefore = null;
    }
    if (this.#alt) {
      output.write(CURSOR_SHOW + ALT_SCREEN_OFF);
      this.#alt = false;
    }
    this.#hub.off("exit", this.#atExit);
  }
}

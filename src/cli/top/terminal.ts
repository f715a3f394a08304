/**
 * The full-screen terminal of `top`: alternate screen, hidden cursor, raw keys, redraws in place, resize. The
 * terminal is given back (main screen, cursor, cooked mode) by `restore()`, which is idempotent and also runs
 * on process exit, so an error, SIGINT or SIGTERM never leaves the operator's terminal in raw mode.
 */
import type { ReadStream, WriteStream } from "node:tty";
import { splitKeys } from "./keys.ts";

const ENTER = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
const LEAVE = "\x1b[?25h\x1b[?1049l";

export interface FullScreen {
  size(): { width: number; height: number };
  /** Replaces the screen's content with these lines (each cleared to its end, the rest of the screen too). */
  draw(lines: readonly string[]): void;
  onKey(listener: (key: string) => void): void;
  onResize(listener: () => void): void;
  restore(): void;
}

export function openFullScreen(input: ReadStream, output: WriteStream): FullScreen {
  let restored = false;
  const keyListeners: Array<(k: string) => void> = [];
  const resizeListeners: Array<() => void> = [];
  const onData = (chunk: Buffer) => {
    for (const k of splitKeys(chunk.toString("utf8"))) for (const l of keyListeners) l(k);
  };
  const restore = () => {
    if (restored) return;
    restored = true;
    input.off("data", onData);
    // The shell runs top again and again on the same streams: nothing of this screen stays attached.
    for (const l of resizeListeners) output.off("resize", l);
    if (input.isTTY) input.setRawMode(false);
    input.pause();
    output.write(LEAVE);
    process.off("exit", restore);
  };
  process.on("exit", restore);
  output.write(ENTER);
  if (input.isTTY) input.setRawMode(true);
  input.on("data", onData);
  input.resume();
  return {
    size: () => ({ width: output.columns || 80, height: output.rows || 24 }),
    draw(lines) {
      if (restored) return;
      output.write(`\x1b[H${lines.map((l) => `${l}\x1b[K`).join("\r\n")}\x1b[J`);
    },
    onKey: (l) => keyListeners.push(l),
    onResize: (l) => {
      resizeListeners.push(l);
      output.on("resize", l);
    },
    restore,
  };
}

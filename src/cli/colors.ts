/**
 * ANSI colours for CLI output, only where they help: on a terminal, and never when NO_COLOR is set to anything
 * non-empty (https://no-color.org) or TERM is "dumb". Off, every function returns its text unchanged.
 */
export interface Colors {
  red: (s: string) => string;
  yellow: (s: string) => string;
  cyan: (s: string) => string;
  bold: (s: string) => string;
  dim: (s: string) => string;
}

export function colorsEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== "dumb";
}

export function colors(enabled: boolean): Colors {
  const sgr = (on: number, off: number) => (s: string) => (enabled ? `\x1b[${on}m${s}\x1b[${off}m` : s);
  return { red: sgr(31, 39), yellow: sgr(33, 39), cyan: sgr(36, 39), bold: sgr(1, 22), dim: sgr(2, 22) };
}

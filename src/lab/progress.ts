/** Progress lines with the elapsed time since the operation began, e.g. `[  12.3s] kvmon-lab-1: agent answers`. */

export type Progress = (message: string) => void;

/** A progress reporter writing to `write` (stderr in the CLI and test setup); `quiet` drops everything. */
export function progressReporter(write: (text: string) => void, start = performance.now()): Progress {
  return (message) => write(`${formatElapsed(performance.now() - start)} ${message}\n`);
}

export function formatElapsed(ms: number): string {
  return `[${(ms / 1000).toFixed(1).padStart(6)}s]`;
}

export const silent: Progress = () => {};

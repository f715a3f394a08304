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

export interface WaitReportOptions {
  /** First report after this long (default 3 s: shorter waits stay quiet). */
  firstMs?: number;
  /** Then one report every this long (default 10 s). */
  everyMs?: number;
}

/**
 * Awaits `work`; while it is pending, says what is being waited for and for how long ("waiting for apt-get
 * install (23 s so far)") after `firstMs` and then every `everyMs`, so no wait of the lab is silent.
 */
export async function waitingFor<T>(
  progress: Progress,
  what: string,
  work: Promise<T>,
  options: WaitReportOptions = {},
): Promise<T> {
  if (progress === silent) return work;
  const start = performance.now();
  const every = options.everyMs ?? 10_000;
  const tell = () => {
    progress(`waiting for ${what} (${Math.round((performance.now() - start) / 1000)} s so far)`);
    timer = setTimeout(tell, every);
  };
  let timer = setTimeout(tell, options.firstMs ?? 3000);
  try {
    return await work;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The error vocabulary every layer shares. A KvmonError carries, beside its message:
 * - `code`: stable and machine-readable (UPPER_SNAKE, e.g. LAB_NOT_ROOT, LIBVIRT_NO_DOMAIN, TIMEOUT), so the
 *   HTTP API, the CLI and the web show and match errors the same way, and scripts never parse messages;
 * - `hint`: what the operator can do about it, when there is something to do;
 * - `cause`: the error underneath, kept for logs.
 * Layers subclass it (one errors.ts per layer) and callers match by class (`instanceof`), never by `name`.
 */

export interface KvmonErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class KvmonError extends Error {
  override name = "KvmonError";
  readonly code: string;
  readonly hint: string | undefined;
  constructor(code: string, message: string, options?: KvmonErrorOptions) {
    super(message, { cause: options?.cause });
    this.code = code;
    this.hint = options?.hint;
  }
}

/** A peer (daemon, guest agent, subprocess, socket) did not answer within its deadline. */
export class TimeoutError extends KvmonError {
  override name = "TimeoutError";
  /** What was waited for, e.g. "libvirt call CONNECT_GET_ALL_DOMAIN_STATS". */
  readonly what: string;
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number, options?: KvmonErrorOptions) {
    super("TIMEOUT", `${what} timed out after ${timeoutMs} ms`, options);
    this.what = what;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Rejects with TimeoutError if `promise` does not settle in `timeoutMs`. For waits whose peer call has no
 * deadline of its own; the underlying work cannot be cancelled and its late result is ignored.
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(what, timeoutMs)), timeoutMs);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Typed errors of the agent layer. Each keeps its cause so logs show the libvirt error underneath. */

/** Bad configuration: `key` names the offending setting and `origin` where it came from (file, env, flag). */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly key: string;
  readonly origin: string;
  constructor(key: string, origin: string, message: string, options?: { cause?: unknown }) {
    super(`config ${key} (${origin}): ${message}`, options);
    this.key = key;
    this.origin = origin;
  }
}

/** A call to libvirt did not answer within its deadline. */
export class CallTimeoutError extends Error {
  override name = "CallTimeoutError";
  readonly what: string;
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number) {
    super(`${what}: no answer within ${timeoutMs} ms`);
    this.what = what;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Rejects with CallTimeoutError if `promise` does not settle in `timeoutMs`. The underlying call cannot be
 * cancelled; its late result is ignored (the scheduler never starts a second bulk call while one is pending).
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new CallTimeoutError(what, timeoutMs)), timeoutMs);
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

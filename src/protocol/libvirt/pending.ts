/**
 * The table of calls awaiting a REPLY: serial allocation, one timer per call, and a bounded memory of
 * serials we gave up on (timed out, finished streams) so that their late packets are dropped quietly
 * instead of being reported as protocol errors.
 */
import { TimeoutError } from "./errors.ts";
import type { Procedure } from "./procedure.ts";

export interface PendingCall {
  readonly proc: Procedure<unknown, unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Entry extends PendingCall {
  timer: NodeJS.Timeout;
}

/** How many abandoned serials are remembered. */
const ABANDONED_MAX = 1024;

export class PendingCalls {
  private readonly calls = new Map<number, Entry>();
  private readonly abandoned = new Set<number>();
  private serial = 0;

  get size(): number {
    return this.calls.size;
  }

  /** Next serial (1, 2, ... wrapping at 2^32-1), skipping any still in use by a call or `inUse`. */
  nextSerial(inUse: (serial: number) => boolean): number {
    do {
      this.serial = this.serial >= 0xffffffff ? 1 : this.serial + 1;
    } while (this.calls.has(this.serial) || inUse(this.serial));
    return this.serial;
  }

  /** Registers a call; the promise rejects with TimeoutError after timeoutMs unless settled first. */
  add<R>(serial: number, proc: Procedure<unknown, unknown>, timeoutMs: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.calls.delete(serial);
        this.abandon(serial);
        reject(new TimeoutError(`libvirt call ${proc.name}`, timeoutMs));
      }, timeoutMs);
      this.calls.set(serial, { proc, resolve: resolve as (v: unknown) => void, reject, timer });
    });
  }

  /** Removes and returns the call for `serial` (its timer cleared), if any. */
  take(serial: number): PendingCall | undefined {
    const e = this.calls.get(serial);
    if (!e) return undefined;
    this.calls.delete(serial);
    clearTimeout(e.timer);
    return e;
  }

  /** Remembers a serial whose late packets must be ignored. */
  abandon(serial: number): void {
    this.abandoned.add(serial);
    if (this.abandoned.size > ABANDONED_MAX) {
      const oldest = this.abandoned.values().next().value;
      if (oldest !== undefined) this.abandoned.delete(oldest);
    }
  }

  isAbandoned(serial: number): boolean {
    return this.abandoned.has(serial);
  }

  /** Rejects every call at once (connection gone) and clears all timers. */
  failAll(error: (proc: Procedure<unknown, unknown>) => Error): void {
    const all = [...this.calls.values()];
    this.calls.clear();
    for (const e of all) {
      clearTimeout(e.timer);
      e.reject(error(e.proc));
    }
  }
}

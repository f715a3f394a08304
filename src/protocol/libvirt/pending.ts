/**
 * The table of calls awaiting a REPLY: serial allocation, call deadlines, and a bounded memory of serials
 * we gave up on (timed out, finished streams) so that their late packets are dropped quietly instead of
 * being reported as protocol errors.
 *
 * Deadlines share ONE timer instead of a setTimeout per call: the timer is armed for the earliest deadline
 * and only re-armed when a call with an earlier deadline arrives (with the usual uniform timeout, never), so
 * the common path of a call costs a Map insert and delete and no timer list work. When it fires, every call
 * whose deadline has passed is rejected (in the order the calls were made) and the timer is re-armed for the
 * next deadline, if any. While no call is pending the timer is unref'd (it cannot keep the process alive, as
 * before: an idle connection held no call timer); `failAll` (connection closed) clears it.
 */
import { TimeoutError } from "./errors.ts";
import type { Procedure } from "./procedure.ts";

export interface PendingCall {
  readonly proc: Procedure<unknown, unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Entry extends PendingCall {
  /** performance.now() by which the reply must have come. */
  readonly deadline: number;
  readonly timeoutMs: number;
}

/** How many abandoned serials are remembered. */
const ABANDONED_MAX = 1024;
/** setTimeout's largest delay (2^31-1 ms); longer deadlines are reached in several steps. */
const MAX_DELAY = 0x7fffffff;

export class PendingCalls {
  private readonly calls = new Map<number, Entry>();
  private readonly abandoned = new Set<number>();
  private serial = 0;
  /** The shared deadline timer, armed for `timerAt` (performance.now() time), or null. */
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private timerRefed = false;
  private readonly onTimer = (): void => this.expire();

  get size(): number {
    return this.calls.size;
  }

  /** Whether the shared deadline timer is armed and holding the process (tests, diagnostics). */
  get timerActive(): boolean {
    return this.timer !== null && this.timerRefed;
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
      const deadline = performance.now() + timeoutMs;
      this.calls.set(serial, {
        proc,
        resolve: resolve as (v: unknown) => void,
        reject,
        deadline,
        timeoutMs,
      });
      if (deadline < this.timerAt) this.arm(deadline, timeoutMs);
      else if (!this.timerRefed) {
        // Armed (for an earlier or equal time) but idle: hold the process again while a call waits.
        this.timer!.ref();
        this.timerRefed = true;
      }
    });
  }

  /** Removes and returns the call for `serial`, if any. */
  take(serial: number): PendingCall | undefined {
    const e = this.calls.get(serial);
    if (e === undefined) return undefined;
    this.calls.delete(serial);
    if (this.calls.size === 0 && this.timerRefed) {
      // Nothing left to time out: let the armed timer lapse without holding the process.
      this.timer!.unref();
      this.timerRefed = false;
    }
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

  /** Rejects every call at once (connection gone) and clears the timer. */
  failAll(error: (proc: Procedure<unknown, unknown>) => Error): void {
    this.disarm();
    const all = [...this.calls.values()];
    this.calls.clear();
    for (const e of all) e.reject(error(e.proc));
  }

  private arm(at: number, delay: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    // Whole milliseconds, rounded up: a timer cut short would only wake us to re-arm for the remainder.
    const d = Math.min(Math.max(Math.ceil(delay), 1), MAX_DELAY);
    this.timer = setTimeout(this.onTimer, d);
    this.timerAt = at - delay + d;
    this.timerRefed = true;
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    this.timerRefed = false;
  }

  /**
   * The timer fired: it was armed for `timerAt`, so everything due by then has expired (the clock is read
   * too, in case the loop ran late; a mocked setTimeout advancing alone also works).
   */
  private expire(): void {
    const now = Math.max(this.timerAt, performance.now());
    this.timer = null;
    this.timerAt = Infinity;
    this.timerRefed = false;
    let next = Infinity;
    for (const [serial, e] of this.calls) {
      if (e.deadline <= now) {
        this.calls.delete(serial);
        this.abandon(serial);
        e.reject(new TimeoutError(`libvirt call ${e.proc.name}`, e.timeoutMs));
      } else if (e.deadline < next) next = e.deadline;
    }
    if (next !== Infinity) this.arm(next, next - now);
  }
}

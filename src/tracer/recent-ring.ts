/**
 * A domain's ring of its most recent events (1024 by default, like the original design's shared-memory log).
 * Events reach it two ways. The counting path (page-counter.ts) only notes where each record sits in the buffer
 * it is reading (`note`: four numbers, no object), and before that buffer is reused `keep` copies the bytes of
 * the records still in the ring (at most its size per read); the records are decoded into events only when the
 * ring is read, and each at most once. `push` takes an event already decoded. Pure data: no I/O.
 */

/** What a record says, decoded when the ring is read: undefined when it cannot be decoded (not kept then). */
export type Materialize = (
  record: DataView,
  length: number,
) => { event: string; reason: string; details: Record<string, string | number> } | undefined;

import type { RecentEvent } from "../model/trace.ts";

/** Where a noted record sits: in the caller's buffer until keep(), in `bytes` after; -1 for pushed events. */
const PUSHED = -1;

export class RecentRing {
  readonly size: number;
  readonly #time: Float64Array;
  readonly #vcpu: Int32Array;
  readonly #at: Int32Array;
  readonly #length: Int32Array;
  /** Each slot's copy of its record (reused while big enough). */
  readonly #bytes: (Uint8Array | undefined)[];
  readonly #decode: (Materialize | undefined)[];
  /** Decoded events (pushed, or decoded by a read). */
  readonly #events: (RecentEvent | undefined)[];
  #next = 0;
  #filled = 0;
  /** Records noted since the last keep(). */
  #noted = 0;

  constructor(size: number) {
    this.size = size;
    this.#time = new Float64Array(size);
    this.#vcpu = new Int32Array(size);
    this.#at = new Int32Array(size);
    this.#length = new Int32Array(size);
    this.#bytes = new Array<Uint8Array | undefined>(size);
    this.#decode = new Array<Materialize | undefined>(size);
    this.#events = new Array<RecentEvent | undefined>(size);
  }

  /** A decoded event. */
  push(e: RecentEvent): void {
    if (this.size === 0) return;
    const i = this.#advance();
    this.#time[i] = e.time;
    this.#vcpu[i] = e.vcpu;
    this.#at[i] = PUSHED;
    this.#events[i] = e;
  }

  /** A record of `length` bytes at `at` in the buffer being read; keep() must follow before that buffer changes. */
  note(time: number, vcpu: number, at: number, length: number): void {
    if (this.size === 0) return;
    const i = this.#advance();
    this.#time[i] = time;
    this.#vcpu[i] = vcpu;
    this.#at[i] = at;
    this.#length[i] = length;
    this.#noted++;
  }

  /** Copies the records noted since the last keep() that are still in the ring out of `buffer`. */
  keep(buffer: Uint8Array, decode: Materialize): void {
    const n = Math.min(this.#noted, this.size);
    this.#noted = 0;
    for (let k = 1; k <= n; k++) {
      const i = (this.#next - k + this.size) % this.size;
      const at = this.#at[i]!;
      if (at === PUSHED) continue;
      const length = this.#length[i]!;
      let bytes = this.#bytes[i];
      if (bytes === undefined || bytes.byteLength < length) bytes = this.#bytes[i] = new Uint8Array(length);
      for (let j = 0; j < length; j++) bytes[j] = buffer[at + j]!; // records are short: no subarray per copy
      this.#decode[i] = decode;
      this.#events[i] = undefined;
    }
  }

  /** The most recent events after `since` (epoch ms, exclusive), oldest first, at most `limit`. */
  recent(limit: number, since = -Infinity): RecentEvent[] {
    const out: RecentEvent[] = [];
    // Newest first. The ring is in reading order (CPU by CPU), which is time order only per CPU: scan it all.
    for (let k = 1; k <= this.#filled && out.length < limit; k++) {
      const i = (this.#next - k + this.size) % this.size;
      if (!(this.#time[i]! > since)) continue;
      const e = this.#events[i] ?? this.#decoded(i);
      if (e) out.push(e);
    }
    return out.sort((a, b) => a.time - b.time);
  }

  #decoded(i: number): RecentEvent | undefined {
    const bytes = this.#bytes[i];
    const decode = this.#decode[i];
    if (!bytes || !decode) return undefined;
    const what = decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), this.#length[i]!);
    if (!what) return undefined;
    const e = { time: this.#time[i]!, vcpu: this.#vcpu[i]!, ...what };
    this.#events[i] = e;
    return e;
  }

  #advance(): number {
    const i = this.#next;
    this.#next = (i + 1) % this.size;
    if (this.#filled < this.size) this.#filled++;
    return i;
  }
}

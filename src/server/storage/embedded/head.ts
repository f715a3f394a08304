/**
 * The in-memory head: per series, one open Gorilla chunk that samples are appended to, plus what the store
 * needs to cut it and to roll it up. Its durability comes from the head-WAL records (`encodeWalRecord`), written
 * in the same transaction as the append that brings the samples.
 */
import type { Labels, Sample } from "../types.ts";
import { ChunkAppender, decodeChunk } from "./chunk.ts";
import type { Bucket } from "./rollup.ts";

export class SeriesState {
  readonly id: number;
  readonly labels: Labels;
  head: ChunkAppender | undefined;
  /** The head-WAL sequence of the append that opened the head (records before the oldest one can go). */
  headFirstSeq = 0;
  /** Newest time in a closed chunk (-Infinity when none); samples at or before it go to the late path. */
  closedMaxT = -Infinity;
  /** The newest closed sample (for the first increase of the next rollup), loaded lazily. */
  lastClosed: Sample | undefined;
  /**
   * The hour rollup of the hour `closedMaxT` falls in, as far as closed chunks go (null: none; undefined: not
   * loaded yet), so closing the next chunk adds to it without reading raw samples back.
   */
  openHour: Bucket | null | undefined;
  /**
   * The ingest path's guesses (EmbeddedStore.resolveSeries): the frozen label record last appended for this
   * series, and the series that came after it in that batch (a sender repeats its order every push).
   */
  record: Labels | undefined;
  next: SeriesState | undefined;
  /** False once retention deleted the series or the store rebuilt its memory: no guess may land here. */
  live = true;

  constructor(id: number, labels: Labels) {
    this.id = id;
    this.labels = labels;
  }

  private headSamples(): Sample[] {
    return this.head ? decodeChunk(this.head.bytes()) : [];
  }

  /**
   * Adds a sample newer than `closedMaxT` to the head, in order or not. Returns false for an exact duplicate
   * (same time; the first value is kept, so a replay never rewrites history).
   */
  insert(t: number, v: number, seq: number): boolean {
    if (!this.head) {
      this.head = new ChunkAppender();
      this.headFirstSeq = seq;
    } else if (t <= this.head.maxT) {
      return this.insertOutOfOrder(t, v);
    }
    this.head.append(t, v);
    return true;
  }

  private insertOutOfOrder(t: number, v: number): boolean {
    const samples = this.headSamples();
    let lo = 0;
    let hi = samples.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (samples[mid]!.t < t) lo = mid + 1;
      else hi = mid;
    }
    if (samples[lo]?.t === t) return false;
    samples.splice(lo, 0, { t, v });
    const head = new ChunkAppender();
    for (const s of samples) head.append(s.t, s.v);
    this.head = head;
    return true;
  }
}

const RECORD_BYTES = 20;

/** A head-WAL record: the samples of one append that went to heads, as (series id u32, time f64, value f64). */
export function encodeWalRecord(
  ids: readonly number[],
  ts: readonly number[],
  vs: readonly number[],
): Uint8Array {
  const out = new Uint8Array(ids.length * RECORD_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < ids.length; i++) {
    const at = i * RECORD_BYTES;
    view.setUint32(at, ids[i]!, true);
    view.setFloat64(at + 4, ts[i]!, true);
    view.setFloat64(at + 12, vs[i]!, true);
  }
  return out;
}

export function forEachWalSample(record: Uint8Array, fn: (id: number, t: number, v: number) => void): void {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  for (let at = 0; at + RECORD_BYTES <= record.byteLength; at += RECORD_BYTES) {
    fn(view.getUint32(at, true), view.getFloat64(at + 4, true), view.getFloat64(at + 12, true));
  }
}

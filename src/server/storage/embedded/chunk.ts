/**
 * The Gorilla chunk codec (Pelkonen et al., VLDB 2015, as Prometheus adapts it for millisecond timestamps):
 * timestamps as delta-of-delta in variable-width buckets, values as the XOR with the previous value, written
 * with the leading/trailing-zero window of the previous XOR when it fits. Layout: a 2-byte big-endian sample
 * count, then the bit stream (first time and value in 64 bits each). Values keep their exact bit pattern, so
 * NaN payloads such as the Prometheus stale marker survive.
 */
import type { Sample } from "../types.ts";
import { BitReader, BitWriter, bitsFloat, floatBits } from "./bits.ts";

/*
 * Delta-of-delta buckets (Prometheus' widths for millisecond times): '0' for 0; '10' + 7 bits for
 * (-64, 64]; '110' + 14 bits for (-8192, 8192]; '1110' + 20 bits for (-524288, 524288]; '1111' + 64 bits.
 */

const HEADER_BYTES = 2;
const MAX_CHUNK_SAMPLES = 0xffff;

function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

function ctz32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}

function ctz64(hi: number, lo: number): number {
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
}

/** Appends samples in strictly ascending time order to one chunk; the in-memory head keeps one per series. */
export class ChunkAppender {
  private readonly w = new BitWriter();
  count = 0;
  minT = 0;
  maxT = 0;
  private prevDelta = 0;
  private prevHi = 0;
  private prevLo = 0;
  private leading = -1;
  private trailing = 0;

  append(t: number, v: number): void {
    if (this.count > 0 && t <= this.maxT) throw new RangeError(`chunk sample at ${t} not after ${this.maxT}`);
    if (this.count === MAX_CHUNK_SAMPLES) throw new RangeError("chunk full");
    const [hi, lo] = floatBits(v);
    if (this.count === 0) {
      const [thi, tlo] = floatBits(t);
      this.w.writeWord64(thi, tlo);
      this.w.writeWord64(hi, lo);
      this.minT = t;
    } else {
      const delta = t - this.maxT;
      this.writeDod(delta - this.prevDelta);
      this.prevDelta = delta;
      this.writeXor(hi ^ this.prevHi, lo ^ this.prevLo);
    }
    this.prevHi = hi;
    this.prevLo = lo;
    this.maxT = t;
    this.count++;
  }

  /** The encoded chunk: count header and bit stream. */
  bytes(): Uint8Array {
    const body = this.w.bytes();
    const out = new Uint8Array(HEADER_BYTES + body.length);
    out[0] = this.count >>> 8;
    out[1] = this.count & 0xff;
    out.set(body, HEADER_BYTES);
    return out;
  }

  private writeDod(dod: number): void {
    const w = this.w;
    if (dod === 0) w.writeBit(0);
    else if (dod > -64 && dod <= 64) w.write((0b10 << 7) | (dod & 0x7f), 9);
    else if (dod > -8192 && dod <= 8192) w.write((0b110 << 14) | (dod & 0x3fff), 17);
    else if (dod > -524288 && dod <= 524288) w.write((0b1110 << 20) | (dod & 0xfffff), 24);
    else {
      w.write(0b1111, 4);
      const [hi, lo] = floatBits(dod);
      w.writeWord64(hi, lo);
    }
  }

  private writeXor(hi: number, lo: number): void {
    hi >>>= 0;
    lo >>>= 0;
    if (hi === 0 && lo === 0) {
      this.w.writeBit(0);
      return;
    }
    let leading = clz64(hi, lo);
    const trailing = ctz64(hi, lo);
    if (leading > 31) leading = 31;
    if (this.leading >= 0 && leading >= this.leading && trailing >= this.trailing) {
      this.w.write(0b10, 2);
      writeSlice(this.w, hi, lo, this.trailing, 64 - this.leading - this.trailing);
      return;
    }
    const significant = 64 - leading - trailing;
    this.w.write(0b11, 2);
    this.w.write(leading, 5);
    this.w.write(significant & 63, 6); // 64 is written as 0
    writeSlice(this.w, hi, lo, trailing, significant);
    this.leading = leading;
    this.trailing = trailing;
  }
}

/** Writes `n` bits of the 64-bit word (hi, lo) starting `shift` bits from its low end. */
function writeSlice(w: BitWriter, hi: number, lo: number, shift: number, n: number): void {
  let sh = hi;
  let sl = lo;
  if (shift >= 32) {
    sl = hi >>> (shift - 32);
    sh = 0;
  } else if (shift > 0) {
    sl = (lo >>> shift) | (hi << (32 - shift));
    sh = hi >>> shift;
  }
  if (n > 32) {
    w.write(sh, n - 32);
    w.write(sl, 32);
  } else {
    w.write(sl, n);
  }
}

/** Reads `n` bits and places them `shift` bits from the low end of a 64-bit word: [hi, lo]. */
function readSlice(r: BitReader, shift: number, n: number): [number, number] {
  let hi = n > 32 ? r.read(n - 32) : 0;
  let lo = r.read(n > 32 ? 32 : n);
  if (shift >= 32) {
    hi = lo << (shift - 32);
    lo = 0;
  } else if (shift > 0) {
    hi = (hi << shift) | (lo >>> (32 - shift));
    lo = lo << shift;
  }
  return [hi >>> 0, lo >>> 0];
}

function chunkCount(bytes: Uint8Array): number {
  return (bytes[0]! << 8) | bytes[1]!;
}

/**
 * Decodes a chunk's samples inside [startMs, endMs] (all by default), oldest first; stops at the first sample
 * after the range. Throws RangeError on a truncated stream.
 */
export function decodeChunk(bytes: Uint8Array, startMs = -Infinity, endMs = Infinity): Sample[] {
  const count = chunkCount(bytes);
  const out: Sample[] = [];
  if (count === 0) return out;
  const r = new BitReader(bytes, HEADER_BYTES);
  let t = bitsFloat(r.read(32), r.read(32));
  let hi = r.read(32);
  let lo = r.read(32);
  if (t > endMs) return out;
  if (t >= startMs) out.push({ t, v: bitsFloat(hi, lo) });
  let delta = 0;
  let leading = 0;
  let trailing = 0;
  for (let i = 1; i < count; i++) {
    delta += readDod(r);
    t += delta;
    if (r.readBit() === 1) {
      if (r.readBit() === 1) {
        leading = r.read(5);
        const significant = r.read(6) || 64;
        trailing = 64 - leading - significant;
      }
      const [xh, xl] = readSlice(r, trailing, 64 - leading - trailing);
      hi = (hi ^ xh) >>> 0;
      lo = (lo ^ xl) >>> 0;
    }
    if (t > endMs) break;
    if (t >= startMs) out.push({ t, v: bitsFloat(hi, lo) });
  }
  return out;
}

function readDod(r: BitReader): number {
  if (r.readBit() === 0) return 0;
  if (r.readBit() === 0) return signed(r.read(7), 7);
  if (r.readBit() === 0) return signed(r.read(14), 14);
  if (r.readBit() === 0) return signed(r.read(20), 20);
  return bitsFloat(r.read(32), r.read(32));
}

/** An n-bit field as Prometheus writes it: values in (-2^(n-1), 2^(n-1)]. */
function signed(x: number, n: number): number {
  return x > 2 ** (n - 1) ? x - 2 ** n : x;
}

export function encodeChunk(samples: readonly Sample[]): Uint8Array {
  const a = new ChunkAppender();
  for (const s of samples) a.append(s.t, s.v);
  return a.bytes();
}

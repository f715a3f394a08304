/**
 * Bit-level writer and reader, most significant bit first: the substrate of the Gorilla chunk codec
 * (`chunk.ts`). Values are written in pieces of at most 32 bits, so all arithmetic stays in 32-bit integers;
 * 64-bit float patterns go through `writeWord64`/`readWord64` as two halves.
 */

const F64 = new Float64Array(1);
/** The float's bit pattern as 32-bit halves (little-endian host: [lo, hi]). */
const WORDS = new Uint32Array(F64.buffer);

/** The bit pattern of a float as [hi, lo] 32-bit words (NaN payloads, e.g. the stale marker, kept exactly). */
export function floatBits(v: number): [number, number] {
  F64[0] = v;
  return [WORDS[1]!, WORDS[0]!];
}

export function bitsFloat(hi: number, lo: number): number {
  WORDS[1] = hi;
  WORDS[0] = lo;
  return F64[0]!;
}

export class BitWriter {
  private buf: Uint8Array;
  /** Index of the byte being filled. */
  private byte = 0;
  /** Bits already used in that byte (0..7). */
  private bit = 0;

  constructor(initialBytes = 256) {
    this.buf = new Uint8Array(initialBytes);
  }

  /** Writes the low `n` bits of `value` (0 <= n <= 32), most significant first. */
  write(value: number, n: number): void {
    if (this.byte + 5 >= this.buf.length) this.grow();
    while (n > 0) {
      const free = 8 - this.bit;
      const take = free < n ? free : n;
      const piece = (value >>> (n - take)) & ((1 << take) - 1);
      this.buf[this.byte]! |= piece << (free - take);
      n -= take;
      this.bit += take;
      if (this.bit === 8) {
        this.byte++;
        this.bit = 0;
      }
    }
  }

  writeBit(b: number): void {
    this.write(b, 1);
  }

  /** Writes a 64-bit word given as two 32-bit halves. */
  writeWord64(hi: number, lo: number): void {
    this.write(hi, 32);
    this.write(lo, 32);
  }

  /** The written bytes (the last one zero-padded), as a copy. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.byte + (this.bit > 0 ? 1 : 0));
  }

  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2);
    next.set(this.buf);
    this.buf = next;
  }
}

export class BitReader {
  private byte: number;
  private bit = 0;
  private readonly buf: Uint8Array;

  constructor(buf: Uint8Array, startByte = 0) {
    this.buf = buf;
    this.byte = startByte;
  }

  /** Reads `n` bits (0 <= n <= 32) as an unsigned integer. Throws past the end of the buffer. */
  read(n: number): number {
    let out = 0;
    while (n > 0) {
      if (this.byte >= this.buf.length) throw new RangeError("bit stream ends early");
      const free = 8 - this.bit;
      const take = free < n ? free : n;
      const piece = (this.buf[this.byte]! >>> (free - take)) & ((1 << take) - 1);
      out = (out << take) | piece;
      n -= take;
      this.bit += take;
      if (this.bit === 8) {
        this.byte++;
        this.bit = 0;
      }
    }
    return out >>> 0;
  }

  /** One bit: the decoder's control bits, on every sample. */
  readBit(): number {
    const byte = this.buf[this.byte];
    if (byte === undefined) throw new RangeError("bit stream ends early");
    const b = (byte >>> (7 - this.bit)) & 1;
    if (++this.bit === 8) {
      this.byte++;
      this.bit = 0;
    }
    return b;
  }
}

/**
 * XdrReader: a bounds-checked cursor over one buffer. Every read first checks the remaining bytes and every
 * length/count is checked against its declared max and against what is left, so hostile input can neither
 * read past the end nor make us allocate a giant array: both throw XdrError.
 */
import { XdrError } from "./errors.ts";

export class XdrReader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless at least n bytes remain. Public so hand-written hot-path codecs can check once per item. */
  need(n: number): void {
    if (this.end - this.pos < n) {
      throw new XdrError(`truncated input: need ${n} bytes, ${this.end - this.pos} left`, this.pos);
    }
  }

  /** Throws if any bytes are left: a reply longer than its schema is malformed, not "extra". */
  assertEnd(): void {
    if (this.pos !== this.end)
      throw new XdrError(`${this.end - this.pos} unexpected trailing bytes`, this.pos);
  }

  int(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /**
   * 64-bit reads build the bigint from one safe integer when the value fits in 53 bits (counters almost always
   * do): a single BigInt() instead of Node's shift-and-add, which dominates bulk-stats decoding otherwise.
   */
  hyper(): bigint {
    this.need(8);
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    if (hi >= -0x200000 && hi < 0x200000) return BigInt(hi * 4294967296 + lo);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  uhyper(): bigint {
    this.need(8);
    const hi = this.buf.readUInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    if (hi < 0x200000) return BigInt(hi * 4294967296 + lo);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  double(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** XDR bool is 0 or 1; anything else is malformed (rpcgen's xdr_bool is lenient, we are not). */
  bool(): boolean {
    const at = this.pos;
    const v = this.uint();
    if (v > 1) throw new XdrError(`bool must be 0 or 1, got ${v}`, at);
    return v === 1;
  }

  /** Reads a length/count word and checks it against max and the bytes left (each unit >= minUnit bytes). */
  length(max: number, minUnit = 1): number {
    const at = this.pos;
    const n = this.uint();
    if (n > max) throw new XdrError(`length ${n} exceeds max ${max}`, at);
    if (n * minUnit > this.end - this.pos) {
      throw new XdrError(`length ${n} exceeds the ${this.end - this.pos} bytes left`, at);
    }
    return n;
  }

  string(max: number): string {
    const n = this.length(max);
    const padded = (n + 3) & ~3;
    this.need(padded);
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += padded;
    return s;
  }

  /** opaque<max>; returns a copy so the result does not pin the (possibly 32 MiB) packet buffer. */
  opaque(max: number): Buffer {
    const n = this.length(max);
    return this.fixedOpaque(n);
  }

  fixedOpaque(n: number): Buffer {
    const padded = (n + 3) & ~3;
    this.need(padded);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += padded;
    return out;
  }

  /** Reads n raw bytes as a view into the packet (no copy, no padding). */
  rawView(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Skips an item's padding-aligned bytes without decoding them. */
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

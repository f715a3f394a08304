/**
 * XdrWriter: appends XDR items (RFC 4506, as rpcgen emits them) to a growable buffer. Big-endian, every item
 * padded with zeros to a multiple of 4. Range checks throw XdrError so a bad value never goes on the wire
 * silently truncated.
 */
import { XdrError } from "./errors.ts";

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

export class XdrWriter {
  private buf: Buffer;
  private pos: number;

  /** `reserve` bytes are skipped at the start (the packet layer writes its header there afterwards). */
  constructor(initialSize = 256, reserve = 0) {
    this.buf = Buffer.allocUnsafe(Math.max(initialSize, reserve + 16));
    this.pos = reserve;
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int(v: number): void {
    if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX)
      throw new XdrError(`int out of range: ${v}`, this.pos);
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  uint(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX)
      throw new XdrError(`uint out of range: ${v}`, this.pos);
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  hyper(v: bigint): void {
    if (typeof v !== "bigint" || v < INT64_MIN || v > INT64_MAX)
      throw new XdrError(`hyper out of range: ${v}`, this.pos);
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
  }

  uhyper(v: bigint): void {
    if (typeof v !== "bigint" || v < 0n || v > UINT64_MAX)
      throw new XdrError(`uhyper out of range: ${v}`, this.pos);
    this.ensure(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  bool(v: boolean): void {
    this.uint(v ? 1 : 0);
  }

  /** Variable-length string<max>: UTF-8 bytes, length prefix, padding. */
  string(v: string, max: number): void {
    const len = Buffer.byteLength(v, "utf8");
    if (len > max) throw new XdrError(`string of ${len} bytes exceeds max ${max}`, this.pos);
    this.ensure(4 + len + 3);
    this.buf.writeUInt32BE(len, this.pos);
    this.buf.write(v, this.pos + 4, len, "utf8");
    this.pos += 4 + len;
    this.pad(len);
  }

  /** Variable-length opaque<max>. */
  opaque(v: Uint8Array, max: number): void {
    if (v.length > max) throw new XdrError(`opaque of ${v.length} bytes exceeds max ${max}`, this.pos);
    this.uint(v.length);
    this.raw(v);
    this.pad(v.length);
  }

  /** Fixed-length opaque[n]: exactly n bytes plus padding, no length word. */
  fixedOpaque(v: Uint8Array, n: number): void {
    if (v.length !== n) throw new XdrError(`fixed opaque needs ${n} bytes, got ${v.length}`, this.pos);
    this.raw(v);
    this.pad(n);
  }

  /** Bytes copied verbatim, no length and no padding (stream payloads, pre-encoded parts). */
  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  private pad(len: number): void {
    const p = (4 - (len & 3)) & 3;
    if (p === 0) return;
    this.ensure(p);
    // At most 3 bytes: a loop beats Buffer.fill's call into C++.
    for (let i = 0; i < p; i++) this.buf[this.pos++] = 0;
  }

  /** Overwrites a uint at an absolute offset already written (used for the packet length word). */
  patchUint(offset: number, v: number): void {
    this.buf.writeUInt32BE(v, offset);
  }
}

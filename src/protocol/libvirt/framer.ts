/**
 * Framer: a pure state machine turning a byte stream into whole packets. No I/O, so it is tested offline by
 * feeding arbitrary splits. Buffering is bounded: a length word outside [28, MAX_PACKET] is rejected before
 * anything is allocated, so the most ever held is one packet of at most MAX_PACKET bytes.
 *
 * After an error the framer stays failed (the stream position is lost, resynchronising is impossible); the
 * caller must drop the connection.
 */
import { FramingError } from "./errors.ts";
import { LENGTH_WORD, MAX_PACKET, MIN_PACKET } from "./packet.ts";

export class Framer {
  private readonly lenBuf = Buffer.alloc(LENGTH_WORD);
  private lenFill = 0;
  private packet: Buffer | null = null;
  private fill = 0;
  private failed: FramingError | null = null;
  private readonly maxPacket: number;

  constructor(maxPacket = MAX_PACKET) {
    this.maxPacket = maxPacket;
  }

  /** Bytes currently held for an incomplete packet. */
  get buffered(): number {
    return this.packet ? this.fill : this.lenFill;
  }

  /** Feeds a chunk; returns the packets it completed (length word included). Throws FramingError. */
  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw this.failed;
    const out: Buffer[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (this.packet === null) {
        let len: number;
        let inChunk: boolean;
        if (this.lenFill === 0 && chunk.length - off >= LENGTH_WORD) {
          len = chunk.readUInt32BE(off);
          inChunk = true;
        } else {
          // The length word itself is split across chunks: collect it byte by byte.
          const take = Math.min(LENGTH_WORD - this.lenFill, chunk.length - off);
          chunk.copy(this.lenBuf, this.lenFill, off, off + take);
          this.lenFill += take;
          off += take;
          if (this.lenFill < LENGTH_WORD) break;
          len = this.lenBuf.readUInt32BE(0);
          this.lenFill = 0;
          inChunk = false;
        }
        this.check(len);
        // Fast path: the whole packet is inside this chunk; hand out a view, copy nothing.
        if (inChunk && chunk.length - off >= len) {
          out.push(chunk.subarray(off, off + len));
          off += len;
          continue;
        }
        this.packet = Buffer.allocUnsafe(len);
        this.packet.writeUInt32BE(len, 0);
        this.fill = LENGTH_WORD;
        if (inChunk) off += LENGTH_WORD;
        continue;
      }
      const take = Math.min(this.packet.length - this.fill, chunk.length - off);
      chunk.copy(this.packet, this.fill, off, off + take);
      this.fill += take;
      off += take;
      if (this.fill === this.packet.length) {
        out.push(this.packet);
        this.packet = null;
        this.fill = 0;
      }
    }
    return out;
  }

  private check(len: number): void {
    if (len < MIN_PACKET || len > this.maxPacket) {
      this.failed = new FramingError(
        `invalid packet length ${len} (allowed ${MIN_PACKET}..${this.maxPacket})`,
      );
      this.packet = null;
      this.lenFill = 0;
      throw this.failed;
    }
  }
}

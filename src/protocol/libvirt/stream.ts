/**
 * A libvirt data stream (console, later upload/download): STREAM packets sharing the serial of the CALL that
 * opened it. Reading: an async iterable of Buffers; a zero-length CONTINUE from the server is end of file.
 * Writing: `write(buf)` sends STREAM/CONTINUE packets (raw bytes, at most 262120 each), `finish()` sends
 * STREAM/OK and waits for the server's OK, `abort()` sends STREAM/ERROR. A server STREAM/ERROR (or
 * REPLY/ERROR) becomes a LibvirtError for the reader and any pending finish().
 *
 * Inbound data is buffered up to `maxBuffered` bytes; a reader that falls further behind makes the stream
 * abort with a ProtocolError rather than let memory grow without bound.
 */
import { Duplex } from "node:stream";
import { XdrReader } from "../xdr/reader.ts";
import { ConnectionClosedError, ProtocolError, TimeoutError } from "./errors.ts";
import { type PacketHeader, PacketStatus, PacketType, STREAM_CHUNK_MAX } from "./packet.ts";
import { remoteError, toLibvirtError } from "./remote-error.ts";

/** What a stream needs from the dispatcher. */
export interface StreamIo {
  send(status: number, payload: Uint8Array): void;
  /** The stream is over; the dispatcher forgets its serial. */
  done(): void;
}

export class LibvirtStream implements AsyncIterable<Buffer> {
  readonly procedure: string;
  readonly serial: number;
  private readonly io: StreamIo;
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private readonly maxBuffered: number;
  private readonly finishTimeoutMs: number;
  private reader: { resolve: (b: Buffer | null) => void; reject: (e: unknown) => void } | null = null;
  private eof = false;
  private error: Error | null = null;
  private finished = false;
  private finishWaiter: { resolve: () => void; reject: (e: unknown) => void; timer: NodeJS.Timeout } | null =
    null;

  constructor(
    io: StreamIo,
    procedure: string,
    serial: number,
    opts: { maxBuffered?: number; finishTimeoutMs?: number } = {},
  ) {
    this.io = io;
    this.procedure = procedure;
    this.serial = serial;
    this.maxBuffered = opts.maxBuffered ?? 16 * 1024 * 1024;
    this.finishTimeoutMs = opts.finishTimeoutMs ?? 30_000;
  }

  /** True once the stream has ended either way; writes then throw. */
  get closed(): boolean {
    return this.finished || this.error !== null;
  }

  /** Routed here by the dispatcher: STREAM packets, and REPLY packets once the opening call has returned. */
  handle(h: PacketHeader, body: Buffer): void {
    if (h.status === PacketStatus.CONTINUE && h.type === PacketType.STREAM) {
      if (body.length === 0) {
        this.eof = true;
        this.wakeReader();
        return;
      }
      if (this.eof || this.closed) return; // late data after EOF/finish/abort: nothing to deliver it to
      this.chunks.push(Buffer.from(body)); // copy: `body` is a view into the socket's chunk
      this.buffered += body.length;
      if (this.buffered > this.maxBuffered) {
        this.abort(
          new ProtocolError(`stream ${this.procedure}: reader fell ${this.buffered} bytes behind, aborted`),
        );
        return;
      }
      this.wakeReader();
      return;
    }
    if (h.status === PacketStatus.OK) {
      // The server's confirmation of finish() (or its own end of stream).
      this.eof = true;
      this.end();
      return;
    }
    if (h.status === PacketStatus.ERROR) {
      let err: Error;
      try {
        const r = new XdrReader(body);
        err = toLibvirtError(remoteError.decode(r), this.procedure);
      } catch (e) {
        err = new ProtocolError(`stream ${this.procedure}: undecodable error payload`, { cause: e });
      }
      this.fail(err);
      return;
    }
    this.fail(new ProtocolError(`stream ${this.procedure}: unexpected status ${h.status}`));
  }

  /** Next chunk, or null at end of file. */
  read(): Promise<Buffer | null> {
    const chunk = this.chunks.shift();
    if (chunk) {
      this.buffered -= chunk.length;
      return Promise.resolve(chunk);
    }
    if (this.error) return Promise.reject(this.error);
    if (this.eof || this.finished) return Promise.resolve(null);
    if (this.reader) return Promise.reject(new Error("LibvirtStream.read(): only one read at a time"));
    return new Promise((resolve, reject) => {
      this.reader = { resolve, reject };
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const chunk = await this.read();
      if (chunk === null) return;
      yield chunk;
    }
  }

  /**
   * The stream as a node:stream Duplex (for `pipeline`, `process.stdin.pipe(...)`): ending the writable side
   * sends finish(), destroying it aborts the libvirt stream.
   */
  toDuplex(): Duplex {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the Duplex callbacks bind their own `this`
    const stream = this;
    return new Duplex({
      read() {
        stream.read().then(
          (chunk) => this.push(chunk),
          (e: Error) => this.destroy(e),
        );
      },
      write(chunk: Buffer, _encoding, cb) {
        try {
          stream.write(chunk);
          cb();
        } catch (e) {
          cb(e as Error);
        }
      },
      final(cb) {
        stream.finish().then(() => cb(), cb);
      },
      destroy(error, cb) {
        if (!stream.closed) stream.abort(error ?? undefined);
        cb(error);
      },
    });
  }

  write(data: Uint8Array): void {
    if (this.error) throw this.error;
    if (this.finished) throw new ConnectionClosedError(`stream ${this.procedure} is finished`);
    for (let off = 0; off < data.length; off += STREAM_CHUNK_MAX) {
      // A zero-length CONTINUE means EOF to the server, so never send one for empty input.
      this.io.send(PacketStatus.CONTINUE, data.subarray(off, off + STREAM_CHUNK_MAX));
    }
  }

  /** Ends our side (STREAM/OK) and waits for the server to confirm. */
  finish(): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    if (this.finished) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new TimeoutError(`finishing stream ${this.procedure}`, this.finishTimeoutMs));
      }, this.finishTimeoutMs);
      this.finishWaiter = { resolve, reject, timer };
      this.io.send(PacketStatus.OK, Buffer.alloc(0));
    });
  }

  /** Tells the server to drop the stream (STREAM/ERROR) and ends it locally at once. */
  abort(reason: Error = new ConnectionClosedError(`stream ${this.procedure} aborted`)): void {
    if (this.closed) return;
    try {
      this.io.send(PacketStatus.ERROR, Buffer.alloc(0));
    } catch {
      // The connection is already gone: the stream is dead either way, `reason` says why.
    }
    this.fail(reason);
  }

  /** Ends the stream with an error (also used by the dispatcher when the connection drops). */
  fail(err: Error): void {
    if (this.closed) return;
    this.error = err;
    this.chunks.length = 0;
    this.buffered = 0;
    if (this.reader) {
      const r = this.reader;
      this.reader = null;
      r.reject(err);
    }
    if (this.finishWaiter) {
      clearTimeout(this.finishWaiter.timer);
      this.finishWaiter.reject(err);
      this.finishWaiter = null;
    }
    this.io.done();
  }

  private end(): void {
    if (this.closed) return;
    this.finished = true;
    this.wakeReader();
    if (this.finishWaiter) {
      clearTimeout(this.finishWaiter.timer);
      this.finishWaiter.resolve();
      this.finishWaiter = null;
    }
    this.io.done();
  }

  private wakeReader(): void {
    if (!this.reader) return;
    const r = this.reader;
    const chunk = this.chunks.shift();
    if (chunk) {
      this.buffered -= chunk.length;
      this.reader = null;
      r.resolve(chunk);
    } else if (this.eof || this.finished) {
      this.reader = null;
      r.resolve(null);
    }
  }
}

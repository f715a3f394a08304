/**
 * Dispatcher: owns one Transport and the protocol state of one connection.
 * - CALLs get serials 1, 2, 3, ...; pending calls live in a Map<serial, pending> with a per-call timeout,
 *   replies may arrive in any order;
 * - MESSAGE packets (events) are routed by (program, procedure), never by serial;
 * - STREAM packets are routed by serial to their LibvirtStream;
 * - the keepalive program is answered here (PING → PONG) and our own PINGs detect a dead peer;
 * - when the connection ends for any reason every pending call and stream fails at once with
 *   ConnectionClosedError (cause: the reason), and all timers are cleared.
 * Malformed or unexpected packets never throw out of the socket callback: they surface as 'protocolError'
 * events (and fail the call they belong to, if any). Framing errors close the connection.
 */
import { EventEmitter } from "node:events";
import { XdrReader } from "../xdr/reader.ts";
import { ConnectionClosedError, DuplicateHandlerError, ProtocolError } from "./errors.ts";
import { Framer } from "./framer.ts";
import { Keepalive, type KeepaliveOptions } from "./keepalive.ts";
import {
  decodePacket,
  describeHeader,
  encodePacket,
  encodeRawPacket,
  KeepaliveProc,
  type PacketHeader,
  PacketStatus,
  PacketType,
  PROGRAM_VERSION,
  Program,
} from "./packet.ts";
import { PendingCalls } from "./pending.ts";
import type { Procedure } from "./procedure.ts";
import { remoteError, toLibvirtError } from "./remote-error.ts";
import { LibvirtStream } from "./stream.ts";
import type { Transport } from "./transport.ts";

export interface CallOptions {
  /** Overrides the dispatcher's default call timeout. */
  timeoutMs?: number;
}

export interface DispatcherOptions {
  /** Default per-call timeout. Default 30 s. */
  callTimeoutMs?: number;
  /** Max bytes a stream buffers for a slow reader. Default 16 MiB. */
  streamMaxBuffered?: number;
}

type MessageHandler = (body: Buffer, header: PacketHeader) => void;

export interface DispatcherEvents {
  /** Fired once; `error` is why (undefined for a requested close). */
  close: [error: Error | undefined];
  protocolError: [error: ProtocolError];
}

export class Dispatcher extends EventEmitter<DispatcherEvents> {
  private readonly transport: Transport;
  private readonly framer = new Framer();
  private readonly pending = new PendingCalls();
  private readonly streams = new Map<number, LibvirtStream>();
  private readonly handlers = new Map<string, MessageHandler>();
  private readonly callTimeoutMs: number;
  private readonly streamMaxBuffered: number;
  private keepalive: Keepalive | null = null;
  private closeReason: Error | undefined;
  private isClosed = false;
  private transportClosed: Promise<void> | null = null;

  constructor(transport: Transport, opts: DispatcherOptions = {}) {
    super();
    this.transport = transport;
    this.callTimeoutMs = opts.callTimeoutMs ?? 30_000;
    this.streamMaxBuffered = opts.streamMaxBuffered ?? 16 * 1024 * 1024;
    transport.start({
      data: (chunk) => this.onData(chunk),
      close: (error) => this.shutdown(error ?? new ConnectionClosedError("connection closed by libvirt")),
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Calls in flight (streams not counted). */
  get pendingCount(): number {
    return this.pending.size;
  }

  get description(): string {
    return this.transport.description;
  }

  call<A, R>(proc: Procedure<A, R>, args: A, opts: CallOptions = {}): Promise<R> {
    return this.send(proc, args, this.nextSerial(), opts);
  }

  /** Makes a stream-opening CALL; resolves once the server accepted it. */
  async openStream<A>(proc: Procedure<A, unknown>, args: A, opts: CallOptions = {}): Promise<LibvirtStream> {
    const serial = this.nextSerial();
    const stream = new LibvirtStream(
      {
        send: (status, payload) =>
          this.write(encodeRawPacket(this.header(proc, PacketType.STREAM, serial, status), payload)),
        done: () => {
          this.streams.delete(serial);
          this.pending.abandon(serial);
        },
      },
      proc.name,
      serial,
      { maxBuffered: this.streamMaxBuffered, finishTimeoutMs: opts.timeoutMs ?? this.callTimeoutMs },
    );
    // Registered before the CALL goes out: data could follow the reply within one chunk.
    this.streams.set(serial, stream);
    try {
      await this.send(proc, args, serial, opts);
    } catch (e) {
      stream.fail(e as Error);
      throw e;
    }
    return stream;
  }

  /**
   * Routes MESSAGE packets of (program, procedure) to `handler`; returns the unsubscribe function. One handler
   * per key: a second one throws DuplicateHandlerError instead of silently stealing the first one's messages.
   */
  onMessage(program: number, procedure: number, handler: MessageHandler): () => void {
    const key = `${program}:${procedure}`;
    if (this.handlers.has(key))
      throw new DuplicateHandlerError(
        `a handler for MESSAGE ${key} (program:procedure) is already registered`,
      );
    this.handlers.set(key, handler);
    return () => {
      if (this.handlers.get(key) === handler) this.handlers.delete(key);
    };
  }

  /** Starts our PINGs; call only after the server confirmed the keepalive feature. */
  startKeepalive(opts: KeepaliveOptions = {}): void {
    if (this.isClosed || this.keepalive) return;
    this.keepalive = new Keepalive(
      opts,
      () => this.sendKeepalive(KeepaliveProc.PING),
      (e) => void this.close(e),
    );
    this.keepalive.start();
  }

  /** Closes the transport and fails everything pending with ConnectionClosedError (cause: `reason`). */
  close(reason?: Error): Promise<void> {
    if (this.isClosed) return this.transportClosed ?? Promise.resolve();
    this.shutdown(reason);
    this.transportClosed = this.transport.close();
    return this.transportClosed;
  }

  private send<A, R>(proc: Procedure<A, R>, args: A, serial: number, opts: CallOptions): Promise<R> {
    if (this.isClosed) return Promise.reject(this.closedError(proc.name));
    let packet: Buffer;
    try {
      packet = encodePacket(this.header(proc, PacketType.CALL, serial, PacketStatus.OK), proc.args, args);
    } catch (e) {
      return Promise.reject(e);
    }
    const result = this.pending.add<R>(
      serial,
      proc as Procedure<unknown, unknown>,
      opts.timeoutMs ?? this.callTimeoutMs,
    );
    try {
      this.transport.write(packet);
    } catch (e) {
      const msg = `cannot send ${proc.name}: ${(e as Error).message}`;
      this.pending.take(serial)?.reject(new ConnectionClosedError(msg, { cause: e }));
    }
    return result;
  }

  private header(
    proc: Procedure<unknown, unknown>,
    type: number,
    serial: number,
    status: number,
  ): PacketHeader {
    return { program: proc.program, version: proc.version, procedure: proc.number, type, serial, status };
  }

  private nextSerial(): number {
    return this.pending.nextSerial((s) => this.streams.has(s));
  }

  private write(buf: Buffer): void {
    if (this.isClosed) throw this.closedError("write");
    this.transport.write(buf);
  }

  private sendKeepalive(proc: number): void {
    const h = {
      program: Program.KEEPALIVE,
      version: PROGRAM_VERSION,
      procedure: proc,
      type: PacketType.MESSAGE,
      serial: 0,
      status: PacketStatus.OK,
    };
    try {
      this.write(encodePacket(h));
    } catch (e) {
      void this.close(e as Error);
    }
  }

  private closedError(what: string): ConnectionClosedError {
    return new ConnectionClosedError(`${what}: interrupted, connection to libvirt closed`, {
      cause: this.closeReason,
    });
  }

  private onData(chunk: Buffer): void {
    let packets: Buffer[];
    try {
      packets = this.framer.push(chunk);
    } catch (e) {
      // Stream position is lost; nothing after this can be trusted.
      this.report(e as ProtocolError);
      void this.close(e as Error);
      return;
    }
    for (const p of packets) {
      if (this.isClosed) return;
      this.onPacket(p);
    }
  }

  private report(e: ProtocolError): void {
    // Only emit when someone listens: an unhandled 'error'-like event must never crash the process.
    if (this.listenerCount("protocolError") > 0) this.emit("protocolError", e);
  }

  private onPacket(buf: Buffer): void {
    const { header: h, body } = decodePacket(buf);
    this.keepalive?.touch();
    if (h.program === Program.KEEPALIVE) {
      if (h.type === PacketType.MESSAGE && h.procedure === KeepaliveProc.PING)
        this.sendKeepalive(KeepaliveProc.PONG);
      else if (!(h.type === PacketType.MESSAGE && h.procedure === KeepaliveProc.PONG)) {
        this.report(new ProtocolError(`unexpected keepalive packet ${describeHeader(h)}`));
      }
      return;
    }
    if (h.version !== PROGRAM_VERSION) {
      this.report(new ProtocolError(`unsupported program version in ${describeHeader(h)}`));
      return;
    }
    switch (h.type) {
      case PacketType.REPLY:
        this.onReply(h, body);
        return;
      case PacketType.MESSAGE: {
        const handler = this.handlers.get(`${h.program}:${h.procedure}`);
        if (!handler) {
          this.report(new ProtocolError(`no handler for ${describeHeader(h)}`));
          return;
        }
        try {
          handler(body, h);
        } catch (e) {
          this.report(
            new ProtocolError(`bad MESSAGE ${describeHeader(h)}: ${(e as Error).message}`, { cause: e }),
          );
        }
        return;
      }
      case PacketType.STREAM: {
        const stream = this.streams.get(h.serial);
        if (stream) stream.handle(h, body);
        else if (!this.pending.isAbandoned(h.serial))
          this.report(new ProtocolError(`no stream for ${describeHeader(h)}`));
        return;
      }
      default:
        this.report(new ProtocolError(`unexpected packet ${describeHeader(h)}`));
    }
  }

  private onReply(h: PacketHeader, body: Buffer): void {
    const call = this.pending.take(h.serial);
    if (!call) {
      // After a stream's opening call returned, its finish/abort confirmations come back as REPLY.
      const stream = this.streams.get(h.serial);
      if (stream) stream.handle(h, body);
      else if (!this.pending.isAbandoned(h.serial))
        this.report(new ProtocolError(`reply for unknown call ${describeHeader(h)}`));
      return;
    }
    const { proc } = call;
    if (h.program !== proc.program || h.procedure !== proc.number) {
      const e = new ProtocolError(`reply ${describeHeader(h)} does not match call ${proc.name}`);
      this.report(e);
      call.reject(e);
      return;
    }
    try {
      const r = new XdrReader(body);
      if (h.status === PacketStatus.OK) {
        const value = proc.ret.decode(r);
        r.assertEnd();
        call.resolve(value);
      } else if (h.status === PacketStatus.ERROR) {
        call.reject(toLibvirtError(remoteError.decode(r), proc.name));
      } else {
        throw new ProtocolError(`unexpected status ${h.status}`);
      }
    } catch (e) {
      const err = new ProtocolError(`malformed reply to ${proc.name}: ${(e as Error).message}`, { cause: e });
      this.report(err);
      call.reject(err);
    }
  }

  private shutdown(reason: Error | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeReason = reason;
    this.keepalive?.stop();
    this.pending.failAll((proc) => this.closedError(proc.name));
    for (const s of [...this.streams.values()]) s.fail(this.closedError(s.procedure));
    this.streams.clear();
    this.handlers.clear();
    this.emit("close", reason);
  }
}

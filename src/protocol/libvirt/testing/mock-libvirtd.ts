/**
 * An in-memory libvirt daemon for unit tests: a Transport whose "server" side decodes our CALLs with the real
 * framer and answers with canned packets. Tests drive it by hand (nextCall/reply) or give it a handler per
 * procedure (serve). No sockets, no timers of its own.
 */

import { XdrReader } from "../../xdr/reader.ts";
import type { Codec } from "../../xdr/schema.ts";
import { AsyncQueue } from "../../../shared/async-queue.ts";
import type { RemoteErrorFields } from "../errors.ts";
import { Framer } from "../framer.ts";
import {
  decodePacket,
  encodePacket,
  encodeRawPacket,
  type Packet,
  type PacketHeader,
  PacketStatus,
  PacketType,
  Program,
} from "../packet.ts";
import type { AnyProcedure } from "../procedure.ts";
import { remoteError } from "../remote-error.ts";
import type { Transport, TransportHandlers } from "../transport.ts";

export class MockTransport implements Transport {
  readonly description = "mock";
  handlers: TransportHandlers | null = null;
  closed = false;
  /** Every byte chunk the client wrote. */
  readonly written: Buffer[] = [];
  private readonly framer = new Framer();
  /** Whole packets the client sent, decoded. */
  readonly packets = new AsyncQueue<Packet>(100_000);

  start(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }

  write(buf: Buffer): void {
    if (this.closed) throw new Error("mock transport closed");
    this.written.push(Buffer.from(buf));
    for (const p of this.framer.push(Buffer.from(buf))) this.packets.push(decodePacket(p));
  }

  close(): Promise<void> {
    this.drop();
    return Promise.resolve();
  }

  /** Server side: bytes to the client. */
  feed(buf: Buffer): void {
    this.handlers?.data(buf);
  }

  /** Server side: the connection ends (optionally with an error). */
  drop(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.packets.close();
    this.handlers?.close(error);
  }
}

export function header(h: Partial<PacketHeader>): PacketHeader {
  return {
    program: Program.REMOTE,
    version: 1,
    procedure: 0,
    type: PacketType.REPLY,
    serial: 0,
    status: 0,
    ...h,
  };
}

export function decodeArgs<T>(p: Packet, codec: Codec<T>): T {
  const r = new XdrReader(p.body);
  const v = codec.decode(r);
  r.assertEnd();
  return v;
}

export const NO_ERROR_DETAILS = {
  domain: 7,
  level: 2,
  str1: null,
  str2: null,
  str3: null,
  int1: -1,
  int2: -1,
};

export class MockLibvirtd {
  readonly transport = new MockTransport();
  private readonly handlers = new Map<string, { proc: AnyProcedure; handle: (p: Packet) => unknown }>();
  private serving = false;

  /** Next CALL the client sent (waits for it). */
  async nextCall(): Promise<Packet> {
    const r = await this.transport.packets.next();
    if (r.done) throw new Error("mock: connection closed while waiting for a call");
    return r.value;
  }

  reply<R>(call: Packet, proc: AnyProcedure, value: R): void {
    this.transport.feed(
      encodePacket(
        header({ ...call.header, type: PacketType.REPLY, status: PacketStatus.OK }),
        proc.ret,
        value,
      ),
    );
  }

  replyError(call: Packet, fields: Partial<RemoteErrorFields> & { code: number }): void {
    const e = { ...NO_ERROR_DETAILS, message: null, dom: null, net: null, ...fields };
    this.transport.feed(
      encodePacket(
        header({ ...call.header, type: PacketType.REPLY, status: PacketStatus.ERROR }),
        remoteError,
        e,
      ),
    );
  }

  /** A MESSAGE (event) from the server. */
  message<T>(program: number, procedure: number, codec: Codec<T>, value: T): void {
    this.transport.feed(
      encodePacket(header({ program, procedure, type: PacketType.MESSAGE, serial: 1 }), codec, value),
    );
  }

  streamData(call: Packet, data: Uint8Array, status: number = PacketStatus.CONTINUE): void {
    this.transport.feed(encodeRawPacket(header({ ...call.header, type: PacketType.STREAM, status }), data));
  }

  /** Answers procedure `proc` with handler's return value (a LibvirtError-like {code} object → error reply). */
  on(proc: AnyProcedure, handler: (args: unknown, p: Packet) => unknown): this {
    this.handlers.set(`${proc.program}:${proc.number}`, {
      proc,
      handle: (p) => handler(decodeArgs(p, proc.args), p),
    });
    if (!this.serving) void this.serve();
    return this;
  }

  private async serve(): Promise<void> {
    this.serving = true;
    for await (const p of this.transport.packets) {
      if (p.header.program === Program.KEEPALIVE) continue;
      const h = this.handlers.get(`${p.header.program}:${p.header.procedure}`);
      if (!h) {
        this.replyError(p, { code: 3, message: `mock: procedure ${p.header.procedure} not implemented` });
        continue;
      }
      const out = h.handle(p);
      if (out === NO_REPLY) continue;
      if (out instanceof MockError) this.replyError(p, out.fields);
      else this.reply(p, h.proc, out);
    }
  }
}

/** Return this from an `on` handler to answer with REPLY/ERROR. */
export class MockError {
  readonly fields: Partial<RemoteErrorFields> & { code: number };
  constructor(fields: Partial<RemoteErrorFields> & { code: number }) {
    this.fields = fields;
  }
}

/** Return this from an `on` handler to send no reply at all (timeouts, hand-made replies). */
export const NO_REPLY = Symbol("no reply");

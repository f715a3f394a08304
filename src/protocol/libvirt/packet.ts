/**
 * The libvirt RPC packet: a 4-byte big-endian length (counting itself) followed by a 24-byte header of six
 * 32-bit words (program, version, procedure, type, serial, status) and the XDR payload.
 */
import type { Codec } from "../xdr/schema.ts";
import { XdrWriter } from "../xdr/writer.ts";
import { ProtocolError } from "./errors.ts";

export const Program = {
  REMOTE: 0x20008086,
  QEMU: 0x20008087,
  LXC: 0x00068000,
  KEEPALIVE: 0x6b656570,
} as const;

/** Every program kvmon speaks is at version 1. */
export const PROGRAM_VERSION = 1;

export const PacketType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
  STREAM_HOLE: 6,
} as const;

export const PacketStatus = { OK: 0, ERROR: 1, CONTINUE: 2 } as const;

export const KeepaliveProc = { PING: 1, PONG: 2 } as const;

export const LENGTH_WORD = 4;
export const HEADER_SIZE = 24;
/** Length word + header: the smallest valid packet. */
export const MIN_PACKET = LENGTH_WORD + HEADER_SIZE;
/** libvirt's VIR_NET_MESSAGE_MAX: payload+header must not exceed 32 MiB; the length word comes on top. */
export const MAX_PACKET = 33554432 + LENGTH_WORD;
/** VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX: the largest raw chunk libvirt puts in one STREAM packet. */
export const STREAM_CHUNK_MAX = 262120;

export interface PacketHeader {
  program: number;
  version: number;
  procedure: number;
  type: number;
  serial: number;
  status: number;
}

export interface Packet {
  header: PacketHeader;
  /** The payload, a view into the received buffer. */
  body: Buffer;
}

/** Builds a whole packet (length word included) from a header and a payload: `value` encoded with `codec` (none: empty). */
export function encodePacket<T>(header: PacketHeader, codec?: Codec<T>, value?: T): Buffer {
  const w = new XdrWriter(256, MIN_PACKET);
  if (codec) codec.encode(w, value as T);
  return finishPacket(w, header);
}

/** Builds a packet whose payload is raw bytes (stream data: not XDR, not padded). */
export function encodeRawPacket(header: PacketHeader, payload: Uint8Array): Buffer {
  const w = new XdrWriter(MIN_PACKET + payload.length, MIN_PACKET);
  w.raw(payload);
  return finishPacket(w, header);
}

function finishPacket(w: XdrWriter, h: PacketHeader): Buffer {
  const len = w.length;
  if (len > MAX_PACKET)
    throw new ProtocolError(`packet of ${len} bytes exceeds the ${MAX_PACKET} byte limit`);
  w.patchUint(0, len);
  w.patchUint(4, h.program);
  w.patchUint(8, h.version);
  w.patchUint(12, h.procedure);
  w.patchUint(16, h.type);
  w.patchUint(20, h.serial);
  w.patchUint(24, h.status);
  return w.finish();
}

/** Splits a whole packet (as the framer emits it) into header and payload view. */
export function decodePacket(buf: Buffer): Packet {
  if (buf.length < MIN_PACKET)
    throw new ProtocolError(`packet of ${buf.length} bytes is shorter than a header`);
  const len = buf.readUInt32BE(0);
  if (len !== buf.length) throw new ProtocolError(`packet length word ${len} != ${buf.length} bytes`);
  return {
    header: {
      program: buf.readUInt32BE(4),
      version: buf.readUInt32BE(8),
      procedure: buf.readUInt32BE(12),
      type: buf.readUInt32BE(16),
      serial: buf.readUInt32BE(20),
      status: buf.readUInt32BE(24),
    },
    body: buf.subarray(MIN_PACKET),
  };
}

/** Short text for logs and errors, e.g. "REMOTE/1 REPLY serial=3 status=ERROR". */
export function describeHeader(h: PacketHeader): string {
  const prog = Object.entries(Program).find(([, v]) => v === h.program)?.[0] ?? `0x${h.program.toString(16)}`;
  const type = Object.entries(PacketType).find(([, v]) => v === h.type)?.[0] ?? String(h.type);
  const status = Object.entries(PacketStatus).find(([, v]) => v === h.status)?.[0] ?? String(h.status);
  return `${prog}/${h.procedure} ${type} serial=${h.serial} status=${status}`;
}

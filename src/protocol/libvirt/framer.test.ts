import assert from "node:assert/strict";
import { test } from "node:test";
import { FramingError } from "./errors.ts";
import { Framer } from "./framer.ts";
import { encodeRawPacket, MAX_PACKET } from "./packet.ts";

const hdr = (serial: number) => ({
  program: 0x20008086,
  version: 1,
  procedure: 1,
  type: 1,
  serial,
  status: 0,
});
const packets = [
  encodeRawPacket(hdr(1), Buffer.alloc(0)),
  encodeRawPacket(hdr(2), Buffer.from("hello")),
  encodeRawPacket(hdr(3), Buffer.alloc(70_000, 7)),
];
const stream = Buffer.concat(packets);

test("one chunk with several packets yields them all, as views", () => {
  const out = new Framer().push(stream);
  assert.deepEqual(out, packets);
});

test("every split point and byte-by-byte feeding give the same packets", () => {
  const small = Buffer.concat(packets.slice(0, 2));
  for (let cut = 0; cut <= small.length; cut++) {
    const f = new Framer();
    const out = [...f.push(small.subarray(0, cut)), ...f.push(small.subarray(cut))];
    assert.deepEqual(out, packets.slice(0, 2), `cut at ${cut}`);
    assert.equal(f.buffered, 0);
  }
  const f = new Framer();
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) out.push(...f.push(stream.subarray(i, i + 1)));
  assert.deepEqual(out, packets);
});

test("random chunking", () => {
  let seed = 7;
  for (let round = 0; round < 50; round++) {
    const f = new Framer();
    const out: Buffer[] = [];
    for (let off = 0; off < stream.length;) {
      seed = (seed * 48271) % 0x7fffffff;
      const n = 1 + (seed % 9000);
      out.push(...f.push(stream.subarray(off, off + n)));
      off += n;
    }
    assert.deepEqual(out, packets);
  }
});

test("length words below 28 or above the limit are rejected before buffering, and the framer stays failed", () => {
  for (const len of [0, 4, 27, MAX_PACKET + 1, 0xffffffff]) {
    const f = new Framer();
    const b = Buffer.alloc(8);
    b.writeUInt32BE(len, 0);
    assert.throws(() => f.push(b), FramingError, `len ${len}`);
    assert.equal(f.buffered, 0);
    assert.throws(() => f.push(packets[0]!), FramingError);
  }
  // The limit is configurable: a 100-byte cap rejects the 70 KB packet.
  assert.throws(() => new Framer(100).push(packets[2]!), /invalid packet length/);
  // Split length word: validated once complete.
  const f = new Framer();
  assert.deepEqual(f.push(Buffer.from([0xff, 0xff])), []);
  assert.throws(() => f.push(Buffer.from([0xff, 0xff])), FramingError);
});

test("buffering is bounded by the declared packet length", () => {
  const f = new Framer();
  const big = packets[2]!;
  f.push(big.subarray(0, 1000));
  assert.equal(f.buffered, 1000);
  assert.deepEqual(f.push(big.subarray(1000)), [big]);
  assert.equal(f.buffered, 0);
});

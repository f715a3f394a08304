import assert from "node:assert/strict";
import { test } from "node:test";
import { decode, encode } from "./codec.ts";
import { XdrError } from "./errors.ts";
import { XdrReader } from "./reader.ts";
import { x } from "./schema.ts";
import { XdrWriter } from "./writer.ts";

const hex = (b: Buffer) => b.toString("hex");

test("primitives encode big-endian, 4-byte aligned", () => {
  const w = new XdrWriter(4); // tiny initial size: exercises growth
  w.int(-2);
  w.uint(0xdeadbeef);
  w.hyper(-1n);
  w.uhyper(0x0102030405060708n);
  w.double(1.5);
  w.bool(true);
  assert.equal(
    hex(w.finish()),
    "fffffffe" + "deadbeef" + "ffffffffffffffff" + "0102030405060708" + "3ff8000000000000" + "00000001",
  );
});

test("64-bit values keep full precision (2^64-1, -2^63)", () => {
  const s = x.struct({ u: x.uhyper, h: x.hyper });
  const v = { u: (1n << 64n) - 1n, h: -(1n << 63n) };
  const buf = encode(s, v);
  assert.equal(hex(buf), "ffffffffffffffff8000000000000000");
  assert.deepEqual(decode(s, buf), v);
  assert.throws(() => encode(x.uhyper, 1n << 64n), XdrError);
  assert.throws(() => encode(x.uhyper, -1n), XdrError);
  assert.throws(() => encode(x.hyper, 1n << 63n), XdrError);
  assert.throws(() => encode(x.int, 2 ** 31), XdrError);
  assert.throws(() => encode(x.uint, -1), XdrError);
  assert.throws(() => encode(x.uint, 1.5), XdrError);
});

test("strings and opaques: length prefix, zero padding, max enforced both ways", () => {
  assert.equal(hex(encode(x.string(16), "abcde")), "00000005" + "6162636465" + "000000");
  assert.equal(hex(encode(x.string(16), "abcd")), "00000004" + "61626364");
  assert.equal(hex(encode(x.string(16), "")), "00000000");
  assert.equal(decode(x.string(16), encode(x.string(16), "héllo ✓")), "héllo ✓");
  assert.equal(hex(encode(x.opaque(8), Buffer.from([1, 2, 3]))), "00000003" + "01020300");
  assert.equal(hex(encode(x.fixedOpaque(3), Buffer.from([1, 2, 3]))), "01020300");
  assert.throws(() => encode(x.string(3), "abcd"), XdrError);
  assert.throws(() => encode(x.fixedOpaque(4), Buffer.from([1])), XdrError);
  // A declared length above max is rejected before reading or allocating anything.
  assert.throws(() => decode(x.string(3), Buffer.from("0000000461626364", "hex")), /exceeds max 3/);
  assert.throws(() => decode(x.opaque(0xffffffff), Buffer.from("7fffffff", "hex")), /bytes left/);
});

test("arrays, fixed arrays, optionals, structs, unions round-trip", () => {
  const s = x.struct({
    list: x.array(x.int, 10),
    fixed: x.fixedArray(x.uint, 2),
    some: x.optional(x.string(10)),
    none: x.optional(x.string(10)),
    u: x.union({ 1: x.int, 7: x.string(10), 9: x.void }),
    flag: x.bool,
    d: x.double,
  });
  const v = {
    list: [1, -1],
    fixed: [3, 4],
    some: "hi",
    none: null,
    u: { type: 7 as const, value: "str" },
    flag: false,
    d: -0.25,
  };
  const buf = encode(s, v);
  assert.equal(
    hex(buf),
    "00000002" +
      "00000001" +
      "ffffffff" +
      "00000003" +
      "00000004" +
      "00000001" +
      "00000002" +
      "68690000" +
      "00000000" +
      "00000007" +
      "00000003" +
      "73747200" +
      "00000000" +
      "bfd0000000000000",
  );
  assert.deepEqual(decode(s, buf), v);
  const u = x.union({ 1: x.int, 9: x.void });
  assert.deepEqual(decode(u, Buffer.from("00000009", "hex")), { type: 9, value: undefined });
  assert.throws(() => decode(u, Buffer.from("0000000200000000", "hex")), /no arm 2/);
});

test("charArray: rpcgen's char[n] is one word per char", () => {
  const c = x.charArray(4);
  assert.equal(hex(encode(c, "ab")), "00000061" + "00000062" + "00000000" + "00000000");
  assert.equal(decode(c, encode(c, "ab")), "ab");
  assert.equal(decode(c, encode(c, "abcd")), "abcd");
});

test("transform maps wire values to friendlier ones", () => {
  const hexed = x.transform(
    x.fixedOpaque(2),
    (b) => b.toString("hex"),
    (s: string) => Buffer.from(s, "hex"),
  );
  assert.equal(hex(encode(hexed, "abcd")), "abcd0000");
  assert.equal(decode(hexed, Buffer.from("abcd0000", "hex")), "abcd");
});

test("reader: truncation, bad bool, trailing bytes all throw XdrError with an offset", () => {
  assert.throws(
    () => new XdrReader(Buffer.alloc(3)).int(),
    (e) => e instanceof XdrError && e.offset === 0,
  );
  assert.throws(() => new XdrReader(Buffer.alloc(7)).uhyper(), XdrError);
  assert.throws(() => new XdrReader(Buffer.from("00000002", "hex")).bool(), /bool must be 0 or 1/);
  assert.throws(() => decode(x.int, Buffer.alloc(8)), /trailing/);
  // string whose padding is missing
  assert.throws(() => decode(x.string(10), Buffer.from("0000000161", "hex")), XdrError);
});

test("huge array counts are rejected without allocating", () => {
  const a = x.array(x.uhyper, 0xffffffff);
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(() => decode(a, Buffer.from("fffffff0", "hex")), /bytes left/);
  assert.throws(() => decode(x.array(x.int, 5), Buffer.from("00000006", "hex")), /exceeds max 5/);
  assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20);
});

test("fuzz: random bytes into a nested schema only ever throw XdrError", () => {
  const s = x.struct({
    a: x.array(
      x.struct({ n: x.string(64), o: x.optional(x.uhyper), u: x.union({ 1: x.int, 2: x.opaque(32) }) }),
      100,
    ),
    c: x.charArray(8),
    b: x.bool,
  });
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const sample = encode(s, {
    a: [
      { n: "x", o: 5n, u: { type: 2, value: Buffer.from("zz") } },
      { n: "", o: null, u: { type: 1, value: 3 } },
    ],
    c: "model",
    b: true,
  });
  for (let i = 0; i < 5000; i++) {
    let buf: Buffer;
    if (i % 2 === 0) {
      buf = Buffer.alloc(rnd() % 96);
      for (let j = 0; j < buf.length; j++) buf[j] = rnd() & 0xff;
    } else {
      // Mutate a valid encoding: flip bytes and truncate.
      buf = Buffer.from(sample.subarray(0, rnd() % (sample.length + 1)));
      for (let k = 0; k < 3 && buf.length; k++) buf[rnd() % buf.length] = rnd() & 0xff;
    }
    try {
      decode(s, buf);
    } catch (e) {
      assert.ok(e instanceof XdrError, `iteration ${i}: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
});

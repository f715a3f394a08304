import assert from "node:assert/strict";
import { test } from "node:test";
import { decode, encode } from "../xdr/codec.ts";
import { XdrError } from "../xdr/errors.ts";
import { XdrReader } from "../xdr/reader.ts";
import { FieldNameCache, MAX_CACHED_FIELDS, readTypedParamsMap, typedParams } from "./typed-params.ts";
import { TypedParamType as T, type TypedParam, type TypedParamValue } from "./types.ts";

const all: TypedParam[] = [
  { field: "i", type: T.INT, value: -5 },
  { field: "u", type: T.UINT, value: 4294967295 },
  { field: "ll", type: T.LLONG, value: -(1n << 63n) },
  { field: "ull", type: T.ULLONG, value: (1n << 64n) - 1n },
  { field: "d", type: T.DOUBLE, value: 0.5 },
  { field: "b", type: T.BOOLEAN, value: true },
  { field: "s", type: T.STRING, value: "vda" },
];

test("typed params: byte layout of one param", () => {
  assert.equal(
    encode(typedParams(), [{ field: "cpu.time", type: T.ULLONG, value: 258n }]).toString("hex"),
    "00000001" + // count
      "00000008" +
      Buffer.from("cpu.time").toString("hex") + // field
      "00000004" + // type ULLONG
      "0000000000000102", // value
  );
});

test("typed params: every type round-trips, 64-bit without loss", () => {
  const buf = encode(typedParams(), all);
  assert.deepEqual(decode(typedParams(), buf), all);
  const m = new Map();
  const r = new XdrReader(buf);
  readTypedParamsMap(r, m);
  r.assertEnd();
  assert.equal(m.get("ull"), 18446744073709551615n);
  assert.equal(m.get("b"), true);
  assert.equal(m.size, all.length);
});

test("typed params: wrong JS type, unknown wire type, over max", () => {
  assert.throws(() => encode(typedParams(), [{ field: "x", type: T.ULLONG, value: 1 }]), XdrError);
  assert.throws(() => encode(typedParams(), [{ field: "x", type: T.INT, value: 1n }]), XdrError);
  const bad = Buffer.from("00000001" + "00000001" + "78000000" + "00000009" + "00000000", "hex");
  assert.throws(() => decode(typedParams(), bad), /unknown typed param type 9/);
  assert.throws(() => decode(typedParams(1), encode(typedParams(), all)), /exceeds max 1/);
});

test("field name cache: kept across replies, exact for ASCII, non-ASCII names decoded each time, bounded", () => {
  const cache = new FieldNameCache();
  const read = (params: TypedParam[]) => {
    const m = new Map<string, TypedParamValue>();
    const r = new XdrReader(encode(typedParams(), params));
    readTypedParamsMap(r, m, undefined, cache);
    r.assertEnd();
    return m;
  };
  const one = read(all);
  assert.deepEqual(
    [...one.keys()],
    all.map((p) => p.field),
  );
  // A second reply (another buffer) with the same names gets the very same strings back.
  const two = read(all);
  assert.deepEqual([...two.keys()], [...one.keys()]);
  // Same length, other bytes at a position: not mistaken for the cached name.
  const swapped = read([
    { field: "j", type: T.INT, value: 1 },
    { field: "v", type: T.UINT, value: 2 },
  ]);
  assert.deepEqual([...swapped.keys()], ["j", "v"]);
  // Non-ASCII: decoded as UTF-8, never cached (its bytes are not its char codes).
  const utf = [
    { field: "disk.é", type: T.INT, value: 1 },
    { field: "\u00e9\u00e9", type: T.INT, value: 2 },
  ];
  assert.deepEqual([...read(utf).keys()], ["disk.é", "éé"]);
  assert.deepEqual([...read(utf).keys()], ["disk.é", "éé"]);
  assert.equal(cache.names[0], "j");
  // Latin-1 bytes that are not UTF-8 still decode as UTF-8 would (replacement char), not as Latin-1.
  const raw = Buffer.from("00000001" + "00000001" + "e9000000" + "00000001" + "00000007", "hex");
  const m = new Map<string, TypedParamValue>();
  readTypedParamsMap(new XdrReader(raw), m, undefined, cache);
  assert.deepEqual([...m.keys()], ["\ufffd"]);
  // Bounded: positions past MAX_CACHED_FIELDS are decoded but not remembered.
  const many: TypedParam[] = [];
  for (let i = 0; i < MAX_CACHED_FIELDS + 10; i++) many.push({ field: `f${i}`, type: T.INT, value: i });
  assert.equal(read(many).size, MAX_CACHED_FIELDS + 10);
  assert.equal(cache.names.length, MAX_CACHED_FIELDS);
});

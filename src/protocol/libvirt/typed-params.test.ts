import assert from "node:assert/strict";
import { test } from "node:test";
import { decode, encode } from "../xdr/codec.ts";
import { XdrError } from "../xdr/errors.ts";
import { XdrReader } from "../xdr/reader.ts";
import { readTypedParamsMap, typedParams } from "./typed-params.ts";
import { TypedParamType as T, type TypedParam } from "./types.ts";

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

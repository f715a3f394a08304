/**
 * WriteRequest protobuf encoding on protobufjs' Writer (the decoder is decode.ts). The encoder omits zero values
 * as Go's protobuf does, so its bytes equal Prometheus' own for the same series.
 */
import protobuf from "protobufjs/minimal.js";
import type { TimeSeries } from "./types.ts";

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;

/** A field's tag byte: field number and wire type. */
const tag = (field: number, wire: number) => (field << 3) | wire;

export function encodeWriteRequest(series: readonly TimeSeries[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const ts of series) {
    w.uint32(tag(1, LEN)).fork();
    for (const l of ts.labels) {
      w.uint32(tag(1, LEN)).fork();
      if (l.name !== "") w.uint32(tag(1, LEN)).string(l.name);
      if (l.value !== "") w.uint32(tag(2, LEN)).string(l.value);
      w.ldelim();
    }
    for (const s of ts.samples) {
      w.uint32(tag(2, LEN)).fork();
      if (s.value !== 0) w.uint32(tag(1, FIXED64)).double(s.value);
      if (s.timestamp !== 0) w.uint32(tag(2, VARINT)).int64(s.timestamp);
      w.ldelim();
    }
    w.ldelim();
  }
  return w.finish();
}

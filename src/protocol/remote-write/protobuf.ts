/**
 * WriteRequest protobuf encoding on protobufjs' Reader and Writer. The decoder walks the wire by hand so that
 * it is strict where a generated one is lenient: a known field with the wrong wire type, a length running past
 * its message, a bad varint are each a RemoteWriteDecodeError, never a garbage value. Unknown fields (Prometheus
 * 2.x sends metadata as field 3) are skipped. The encoder omits zero values as Go's protobuf does, so its bytes
 * equal Prometheus' own for the same series.
 */
import protobuf from "protobufjs/minimal.js";
import { RemoteWriteDecodeError } from "./errors.ts";
import type { Label, Sample, TimeSeries } from "./types.ts";

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

type Reader = protobuf.Reader;

/** A Long's value (signed high word, unsigned low word); exact for any millisecond timestamp. */
const int64ToNumber = (l: protobuf.Long) => l.high * 2 ** 32 + (l.low >>> 0);

function expectWire(got: number, want: number, field: string, at: number): void {
  if (got !== want)
    throw new RemoteWriteDecodeError(`${field}: wire type ${got} at offset ${at}, expected ${want}`);
}

/** The end offset of a length-delimited field starting at the reader's position. */
function messageEnd(r: Reader, field: string): number {
  const at = r.pos;
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len)
    throw new RemoteWriteDecodeError(`${field}: length ${len} at offset ${at} runs past the end (${r.len})`);
  return end;
}

/** Reads fields up to `end`, calling `onField` for each; the callback must consume the field or return false. */
function fields(r: Reader, end: number, onField: (field: number, wire: number, at: number) => boolean): void {
  while (r.pos < end) {
    const at = r.pos;
    const t = r.uint32();
    const field = t >>> 3;
    const wire = t & 7;
    if (field === 0) throw new RemoteWriteDecodeError(`field number 0 at offset ${at}`);
    if (!onField(field, wire, at)) r.skipType(wire);
  }
  if (r.pos !== end) throw new RemoteWriteDecodeError(`a field runs past its message's end at offset ${end}`);
}

function decodeLabel(r: Reader, end: number): Label {
  let name = "";
  let value = "";
  fields(r, end, (field, wire, at) => {
    if (field !== 1 && field !== 2) return false;
    expectWire(wire, LEN, field === 1 ? "Label.name" : "Label.value", at);
    const s = r.string();
    if (field === 1) name = s;
    else value = s;
    return true;
  });
  return { name, value };
}

function decodeSample(r: Reader, end: number): Sample {
  let value = 0;
  let timestamp = 0;
  fields(r, end, (field, wire, at) => {
    if (field === 1) {
      expectWire(wire, FIXED64, "Sample.value", at);
      value = r.double();
    } else if (field === 2) {
      expectWire(wire, VARINT, "Sample.timestamp", at);
      timestamp = int64ToNumber(r.int64());
    } else return false;
    return true;
  });
  return { value, timestamp };
}

function decodeSeries(r: Reader, end: number): TimeSeries {
  const labels: Label[] = [];
  const samples: Sample[] = [];
  fields(r, end, (field, wire, at) => {
    if (field === 1) {
      expectWire(wire, LEN, "TimeSeries.labels", at);
      labels.push(decodeLabel(r, messageEnd(r, "TimeSeries.labels")));
    } else if (field === 2) {
      expectWire(wire, LEN, "TimeSeries.samples", at);
      samples.push(decodeSample(r, messageEnd(r, "TimeSeries.samples")));
    } else return false;
    return true;
  });
  return { labels, samples };
}

/** Decodes a WriteRequest (uncompressed). Throws RemoteWriteDecodeError on any malformed input. */
export function decodeWriteRequest(bytes: Uint8Array): TimeSeries[] {
  const r = protobuf.Reader.create(bytes);
  const out: TimeSeries[] = [];
  try {
    fields(r, r.len, (field, wire, at) => {
      if (field !== 1) return false;
      expectWire(wire, LEN, "WriteRequest.timeseries", at);
      out.push(decodeSeries(r, messageEnd(r, "WriteRequest.timeseries")));
      return true;
    });
  } catch (e) {
    if (e instanceof RemoteWriteDecodeError) throw e;
    // protobufjs' own: "index out of range" (truncated), "invalid varint encoding", "invalid wire type".
    throw new RemoteWriteDecodeError(`malformed protobuf: ${(e as Error).message}`, { cause: e });
  }
  return out;
}

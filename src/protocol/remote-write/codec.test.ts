import assert from "node:assert/strict";
import test from "node:test";
import { compressSync, uncompressSync } from "snappy";
import {
  decodeWrite,
  decodeWriteRequest,
  encodeWrite,
  encodeWriteRequest,
  RemoteWriteDecodeError,
  RemoteWriteInvalidError,
  RemoteWriteTooLargeError,
  seriesProblem,
  sortedLabels,
  type TimeSeries,
  validateSeries,
} from "./index.ts";
import { WitnessWriteRequest } from "./testing/witness.ts";

const WriteRequest = WitnessWriteRequest;

const series: TimeSeries[] = [
  {
    labels: sortedLabels({
      __name__: "kvmon_domain_cpu_seconds_total",
      domain: "vm-1",
      uuid: "u1",
      host: "h",
    }),
    samples: [
      { value: 12.5, timestamp: 1_764_000_000_000 },
      { value: 13.25, timestamp: 1_764_000_010_000 },
    ],
  },
  {
    labels: sortedLabels({ __name__: "kvmon_libvirt_up", host: "h", note: 'quote " and\nnewline ü' }),
    samples: [
      { value: 0, timestamp: 0 },
      { value: Number.NaN, timestamp: -1 },
      { value: -0.5, timestamp: 2 ** 52 },
    ],
  },
];

test("encode -> decode round-trips labels, values (NaN, 0, negative) and timestamps", () => {
  const back = decodeWrite(encodeWrite(series), 1 << 20);
  assert.deepEqual(back, series);
});

test("the encoding equals protobufjs' reflection encoding of the spec's .proto, byte for byte", () => {
  const mine = encodeWriteRequest(series);
  const witness = WriteRequest.encode(
    WriteRequest.fromObject({
      timeseries: series.map((s) => ({ labels: s.labels, samples: s.samples })),
    }),
  ).finish();
  assert.deepEqual(Buffer.from(mine).toString("hex"), Buffer.from(witness).toString("hex"));
});

test("golden bytes of a one-sample request", () => {
  const bytes = encodeWriteRequest([
    { labels: [{ name: "__name__", value: "up" }], samples: [{ value: 1, timestamp: 1000 }] },
  ]);
  // 0a 1e: series (30 bytes); 0a 0e: label {0a 08 "__name__", 12 02 "up"};
  // 12 0c: sample {09 <1.0 as a little-endian double>, 10 e8 07 (1000)}.
  assert.equal(
    Buffer.from(bytes).toString("hex"),
    "0a1e" + "0a0e0a085f5f6e616d655f5f12027570" + "120c09000000000000f03f10e807",
  );
});

test("the native snappy addon (an independent implementation) reads our blocks, and we read its", () => {
  const pb = encodeWriteRequest(series);
  assert.ok((uncompressSync(encodeWrite(series)) as Buffer).equals(pb));
  assert.deepEqual(decodeWrite(compressSync(Buffer.from(pb)), 1 << 20), series);
});

test("unknown fields (Prometheus' metadata, field 3) are skipped", () => {
  const withMeta = WriteRequest.encode(
    WriteRequest.fromObject({
      timeseries: [{ labels: [{ name: "__name__", value: "up" }], samples: [{ value: 1, timestamp: 5 }] }],
      metadata: [{ type: 1, metricFamilyName: "up", help: "whether up" }],
    }),
  ).finish();
  assert.deepEqual(decodeWriteRequest(withMeta), [
    { labels: [{ name: "__name__", value: "up" }], samples: [{ value: 1, timestamp: 5 }] },
  ]);
});

test("malformed protobuf is a RemoteWriteDecodeError, never a crash or a garbage value", () => {
  const good = encodeWriteRequest(series);
  const cases: Record<string, Uint8Array> = {
    "truncated inside a series": good.subarray(0, good.length - 3),
    "truncated in the middle": good.subarray(0, 20),
    "bad varint": Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    "series with wire type varint": Uint8Array.from([0x08, 0x01]),
    "label name as varint": Uint8Array.from([0x0a, 0x04, 0x0a, 0x02, 0x08, 0x01]),
    "timestamp as fixed64": Uint8Array.from([0x0a, 0x0b, 0x12, 0x09, 0x11, 1, 2, 3, 4, 5, 6, 7, 8]),
    "length past the end": Uint8Array.from([0x0a, 0x7f, 0x00]),
    "inner length past its message": Uint8Array.from([0x0a, 0x03, 0x0a, 0x05, 0x0a, 0x01, 0x61, 0x12, 0x01]),
    "field number 0": Uint8Array.from([0x00, 0x01]),
    "invalid wire type 7 on an unknown field": Uint8Array.from([0x1f, 0x01]),
  };
  for (const [what, bytes] of Object.entries(cases))
    assert.throws(() => decodeWriteRequest(bytes), RemoteWriteDecodeError, what);
});

test("snappy garbage and framed snappy are RemoteWriteDecodeErrors", () => {
  assert.throws(() => decodeWrite(Uint8Array.from([5, 1, 2, 3]), 1 << 20), RemoteWriteDecodeError);
  assert.throws(() => decodeWrite(new Uint8Array(0), 1 << 20), RemoteWriteDecodeError);
  // The framed format's stream identifier chunk: not a block.
  const framed = Buffer.from("ff060000734e61507059", "hex");
  assert.throws(() => decodeWrite(framed, 1 << 20), RemoteWriteDecodeError);
  assert.throws(
    () => decodeWrite(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), 1 << 20),
    RemoteWriteDecodeError,
  );
});

test("a snappy bomb is refused from its declared length, before decompressing", () => {
  // 8 MiB of zeros compress about 21:1 (snappy's best); the limit is 1 MiB.
  const bomb = compressSync(Buffer.alloc(8 << 20));
  assert.ok(bomb.length < (8 << 20) / 20, `${bomb.length}`);
  assert.throws(
    () => decodeWrite(bomb, 1 << 20),
    (err: unknown) => err instanceof RemoteWriteTooLargeError && err.bytes === 8 << 20,
  );
  // A header that lies (declares 4 GiB, carries 3 bytes) is refused the same way.
  assert.throws(
    () => decodeWrite(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0]), 1 << 20),
    (err: unknown) => err instanceof RemoteWriteTooLargeError && err.bytes === 0xffffffff,
  );
});

test("validation: names, order, duplicates, empty names and values, __name__, time order", () => {
  const l = (...pairs: [string, string][]) => pairs.map(([name, value]) => ({ name, value }));
  const s = (labels: ReturnType<typeof l>, ts = [1, 2]) => ({
    labels,
    samples: ts.map((t) => ({ value: 1, timestamp: t })),
  });
  assert.equal(seriesProblem(s(l(["__name__", "a:b_c"], ["x", "1"]))), null);
  const bad: [TimeSeries, RegExp][] = [
    [s(l(["x", "1"])), /no __name__/],
    [s(l(["__name__", "1up"])), /metric name/],
    [s(l(["__name__", "up"], ["a-b", "1"])), /label name "a-b"/],
    [s(l(["__name__", "up"], ["", "1"])), /empty name/],
    [s(l(["__name__", "up"], ["job", ""])), /empty value/],
    [s(l(["__name__", "up"], ["job", "a"], ["job", "b"])), /appears twice/],
    [s(l(["job", "a"], ["__name__", "up"])), /not sorted/],
    [s(l(["__name__", "up"]), [2, 1]), /time order/],
  ];
  for (const [ts, re] of bad) assert.match(seriesProblem(ts) ?? "", re);
  assert.throws(
    () => validateSeries([s(l(["__name__", "up"])), s(l(["x", "1"]))]),
    (e: unknown) =>
      e instanceof RemoteWriteInvalidError && e.seriesIndex === 1 && e.code === "REMOTE_WRITE_INVALID",
  );
});

test("sortedLabels sorts by name and leaves empty values out", () => {
  assert.deepEqual(sortedLabels({ b: "2", __name__: "m", a: "", c: "3" }), [
    { name: "__name__", value: "m" },
    { name: "b", value: "2" },
    { name: "c", value: "3" },
  ]);
});

import assert from "node:assert/strict";
import test from "node:test";
import { decodeWriteRequest, encodeWriteRequest, LabelSetCache, RemoteWriteDecodeError } from "./index.ts";
import { WitnessWriteRequest, witnessRoot } from "./testing/witness.ts";
import type { Label, TimeSeries } from "./types.ts";
import { rng } from "../../shared/testing/rng.ts";

const WriteRequest = WitnessWriteRequest;

const PIECES = ["a", "Z", "_", "9", "é", "ü", "€", "𝄞", '"', "\n", " ", "-", "日本"];
const VALUES = [0, -0, 1, -1.5, 1e-300, 1.7976931348623157e308, Number.NaN, Infinity, -Infinity, 0.1];

function randomString(r: () => number, max: number): string {
  let s = "";
  for (let n = Math.floor(r() * max); n > 0; n--) s += PIECES[Math.floor(r() * PIECES.length)]!;
  return s;
}

function randomTimestamp(r: () => number): number {
  const pick = Math.floor(r() * 5);
  if (pick === 0) return 0;
  if (pick === 1) return -Math.floor(r() * 2 ** 40); // negative int64: ten varint bytes
  if (pick === 2) return Math.floor(r() * 2 ** 53) * (r() < 0.5 ? 1 : -1);
  return 1_764_000_000_000 + Math.floor(r() * 1e9);
}

function randomRequest(r: () => number): { series: TimeSeries[]; metadata: unknown[] } {
  const series: TimeSeries[] = [];
  for (let i = Math.floor(r() * 6); i > 0; i--) {
    const labels: Label[] = [];
    for (let j = Math.floor(r() * 5); j > 0; j--)
      labels.push({ name: randomString(r, 4), value: randomString(r, 8) });
    const samples = [];
    for (let j = Math.floor(r() * 4); j > 0; j--)
      samples.push({
        value: r() < 0.5 ? VALUES[Math.floor(r() * VALUES.length)]! : (r() - 0.5) * 1e6,
        timestamp: randomTimestamp(r),
      });
    series.push({ labels, samples });
  }
  const metadata = r() < 0.3 ? [{ type: 1, metricFamilyName: randomString(r, 5), help: "h" }] : [];
  return { series, metadata };
}

/** protobufjs' reading of the same bytes, as plain TimeSeries. */
function witness(bytes: Uint8Array): TimeSeries[] {
  const msg = WriteRequest.toObject(WriteRequest.decode(bytes), { longs: Number, defaults: true }) as {
    timeseries: { labels: Label[]; samples: { value: number; timestamp: number }[] }[];
  };
  return msg.timeseries.map((ts) => ({
    labels: ts.labels.map((l) => ({ name: l.name, value: l.value })),
    samples: ts.samples.map((s) => ({ value: s.value, timestamp: s.timestamp })),
  }));
}

test("the decoder reads random WriteRequests (unicode, NaN, -0, negative int64, metadata) as protobufjs does", () => {
  const r = rng(14);
  const cache = new LabelSetCache();
  for (let i = 0; i < 500; i++) {
    const { series, metadata } = randomRequest(r);
    const bytes = WriteRequest.encode(WriteRequest.fromObject({ timeseries: series, metadata })).finish();
    const want = witness(bytes);
    assert.deepEqual(decodeWriteRequest(bytes), want, `request ${i}`);
    assert.deepEqual(decodeWriteRequest(bytes, cache), want, `request ${i}, with the label cache`);
    // Once more: this time every label set comes from the cache.
    assert.deepEqual(decodeWriteRequest(bytes, cache), want, `request ${i}, from the label cache`);
  }
});

test("labels interleaved with samples are read in order, with or without the cache", () => {
  const label = (name: string, value: string) => ({ labels: [{ name, value }] });
  const sample = { samples: [{ value: 2, timestamp: 7 }] };
  // One TimeSeries whose fields come label, sample, label (protobuf allows any order).
  const TimeSeries = witnessRoot.lookupType("TimeSeries");
  const parts = [label("__name__", "up"), sample, label("job", "x")].map((p) =>
    TimeSeries.encode(TimeSeries.fromObject(p)).finish(),
  );
  const inner = Buffer.concat(parts);
  const bytes = Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
  const want = [
    {
      labels: [
        { name: "__name__", value: "up" },
        { name: "job", value: "x" },
      ],
      samples: [{ value: 2, timestamp: 7 }],
    },
  ];
  assert.deepEqual(decodeWriteRequest(bytes), want);
  assert.deepEqual(decodeWriteRequest(bytes, new LabelSetCache()), want);
});

test("with a cache, a label set seen before is the same frozen array; other bytes give other labels", () => {
  const cache = new LabelSetCache();
  const a: TimeSeries = {
    labels: [
      { name: "__name__", value: "m" },
      { name: "host", value: "h1" },
    ],
    samples: [{ value: 1, timestamp: 1 }],
  };
  const b: TimeSeries = { ...a, labels: [a.labels[0]!, { name: "host", value: "h2" }] };
  const first = decodeWriteRequest(encodeWriteRequest([a, b]), cache);
  const again = decodeWriteRequest(encodeWriteRequest([a, b]), cache);
  assert.equal(again[0]!.labels, first[0]!.labels);
  assert.equal(again[1]!.labels, first[1]!.labels);
  assert.ok(Object.isFrozen(first[0]!.labels) && Object.isFrozen(first[0]!.labels[0]));
  // Another order: each series' guess (the set that followed its predecessor) is wrong, the lookup is right.
  const swapped = decodeWriteRequest(encodeWriteRequest([b, a, b]), cache);
  assert.deepEqual(
    swapped.map((s) => s.labels[1]!.value),
    ["h2", "h1", "h2"],
  );
  assert.equal(swapped[1]!.labels, first[0]!.labels);
  // A value of the same length after the same predecessor: the byte compare tells them apart.
  const c: TimeSeries = { ...a, labels: [a.labels[0]!, { name: "host", value: "h3" }] };
  assert.equal(decodeWriteRequest(encodeWriteRequest([a, c]), cache)[1]!.labels[1]!.value, "h3");
  // The guessed set's bytes followed by one more label: the whole run counts, not the guess.
  const d: TimeSeries = { ...c, labels: [...c.labels, { name: "z", value: "1" }] };
  assert.deepEqual(decodeWriteRequest(encodeWriteRequest([a, d]), cache)[1]!.labels, d.labels);
  assert.equal(cache.size, 4);
});

test("the cache is bounded: past maxEntries it starts again, and answers stay right", () => {
  const cache = new LabelSetCache(4);
  const one = (i: number): TimeSeries => ({
    labels: [{ name: "__name__", value: `m${i}` }],
    samples: [{ value: i, timestamp: i }],
  });
  for (let round = 0; round < 3; round++) {
    const series = Array.from({ length: 10 }, (_, i) => one(i));
    assert.deepEqual(decodeWriteRequest(encodeWriteRequest(series), cache), series);
    assert.ok(cache.size <= 4, `${cache.size}`);
  }
});

test("malformed input is refused with the cache too, and a refused body leaves nothing half-read behind", () => {
  const cache = new LabelSetCache();
  const good = encodeWriteRequest([
    { labels: [{ name: "__name__", value: "up" }], samples: [{ value: 1, timestamp: 5 }] },
  ]);
  const cases: Record<string, Uint8Array> = {
    truncated: good.subarray(0, good.length - 2),
    "label truncated": good.subarray(0, 8),
    "ten-byte varint with a continuation bit": Uint8Array.from([0x0a, ...Array(10).fill(0xff)]),
    "tag past 32 bits": Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x7f]),
    "timestamp varint running past its sample": Uint8Array.from([
      0x0a, 0x06, 0x12, 0x02, 0x10, 0x80, 0x10, 0x01,
    ]),
    "double past its sample": Uint8Array.from([0x0a, 0x06, 0x12, 0x04, 0x09, 1, 2, 3]),
    "unterminated group": Uint8Array.from([0x1b, 0x08, 0x01]),
    "group closed by another field": Uint8Array.from([0x1b, 0x24]),
    "wire type 6": Uint8Array.from([0x1e, 0x00]),
  };
  for (const [what, bytes] of Object.entries(cases)) {
    assert.throws(() => decodeWriteRequest(bytes), RemoteWriteDecodeError, what);
    assert.throws(() => decodeWriteRequest(bytes, cache), RemoteWriteDecodeError, `${what}, cached`);
  }
  // An unknown group field (wire types 3/4) is skipped as protobufjs skips it.
  const withGroup = Buffer.concat([Buffer.from([0x1b, 0x08, 0x01, 0x1c]), good]);
  assert.deepEqual(decodeWriteRequest(withGroup, cache), witness(good));
});

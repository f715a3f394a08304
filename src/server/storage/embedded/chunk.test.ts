import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { Sample } from "../types.ts";
import { bitsFloat, floatBits } from "./bits.ts";
import { ChunkAppender, decodeChunk, encodeChunk } from "./chunk.ts";
import { rng } from "../../../shared/testing/rng.ts";

/** Compares by bit pattern, so NaN payloads (the stale marker) count. */
function assertSameSamples(actual: readonly Sample[], expected: readonly Sample[]): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.equal(actual[i]!.t, expected[i]!.t, `t[${i}]`);
    assert.deepEqual(
      floatBits(actual[i]!.v),
      floatBits(expected[i]!.v),
      `v[${i}] ${actual[i]!.v} vs ${expected[i]!.v}`,
    );
  }
}

function roundTrip(samples: readonly Sample[]): Uint8Array {
  const bytes = encodeChunk(samples);
  assertSameSamples(decodeChunk(bytes), samples);
  return bytes;
}

const STALE = bitsFloat(0x7ff00000, 0x00000002);

describe("Gorilla chunk codec", () => {
  it("round-trips the edge values: NaN, the stale marker, infinities, -0, extremes", () => {
    const values = [
      0,
      -0,
      1,
      -1,
      NaN,
      STALE,
      Infinity,
      -Infinity,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      -Number.MAX_VALUE,
      2 ** 53,
      0.1,
      STALE,
      STALE,
      42,
    ];
    roundTrip(values.map((v, i) => ({ t: 1_700_000_000_000 + i * 10_000, v })));
  });

  it("round-trips repeated values, one sample, and an empty chunk", () => {
    roundTrip(Array.from({ length: 120 }, (_, i) => ({ t: 1000 + i * 15_000, v: 7.25 })));
    roundTrip([{ t: 5, v: 3 }]);
    roundTrip([]);
  });

  it("round-trips irregular intervals: negative delta-of-deltas in every bucket and huge gaps", () => {
    const deltas = [
      10_000,
      1,
      9_999,
      10_063,
      10_064,
      10_065,
      9_937,
      1,
      8_000,
      16_192,
      1,
      524_000,
      1,
      1e12,
      1,
      30 * 86_400_000,
      2,
    ];
    let t = -86_400_000; // before the epoch too
    const samples: Sample[] = [{ t, v: 1 }];
    for (const d of deltas) samples.push({ t: (t += d), v: samples.length });
    roundTrip(samples);
  });

  it("round-trips random series: random bit patterns, counters, gauges, jittered timestamps", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const n = 1 + Math.floor(r() * 200);
      const samples: Sample[] = [];
      let t = Math.floor(r() * 2e12);
      let v = r() * 1000;
      for (let i = 0; i < n; i++) {
        const kind = seed % 3;
        if (kind === 0) v = bitsFloat(Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** 32));
        else if (kind === 1) v += Math.floor(r() * 5000);
        else v += (r() - 0.5) * 3;
        samples.push({ t, v });
        t += 1 + Math.floor(r() < 0.1 ? r() * 1e9 : 10_000 + (r() - 0.5) * 40);
      }
      roundTrip(samples);
    }
  });

  it("decodes only the samples inside a range, ends included", () => {
    const samples = Array.from({ length: 50 }, (_, i) => ({ t: 1000 + i * 10, v: i }));
    const bytes = encodeChunk(samples);
    assert.deepEqual(decodeChunk(bytes, 1100, 1200), samples.slice(10, 21));
    assert.deepEqual(decodeChunk(bytes, 1101, 1109), []);
    assert.deepEqual(decodeChunk(bytes, 0, 999), []);
    assert.deepEqual(decodeChunk(bytes, 1490, 9999), samples.slice(49));
  });

  it("refuses a sample not after the last one", () => {
    const a = new ChunkAppender();
    a.append(10, 1);
    assert.throws(() => a.append(10, 2), RangeError);
    assert.throws(() => a.append(9, 2), RangeError);
  });

  it("throws on a truncated stream", () => {
    const bytes = encodeChunk(Array.from({ length: 50 }, (_, i) => ({ t: i * 1000, v: Math.sin(i) })));
    assert.throws(() => decodeChunk(bytes.subarray(0, bytes.length - 20)), RangeError);
  });

  it("stays near Gorilla's 1.3-2 bytes a sample on realistic series (reported)", () => {
    const r = rng(7);
    const kinds = {
      "counter (cpu ns, 10 s, +-5 ms jitter)": (i: number, prev: number) =>
        prev + 2e8 + Math.floor(r() * 1e8),
      "gauge (memory bytes, mostly flat)": (_i: number, prev: number) =>
        r() < 0.1 ? prev + 4096 * Math.floor(r() * 100) : prev,
      "gauge (ratio, wandering float)": (_i: number, prev: number) =>
        Math.min(1, Math.max(0, prev + (r() - 0.5) * 0.05)),
      "counter (packets, small increments)": (_i: number, prev: number) => prev + Math.floor(r() * 30),
      "constant (state)": (_i: number, prev: number) => prev,
    };
    const report: string[] = [];
    for (const [name, next] of Object.entries(kinds)) {
      let t = 1_700_000_000_000;
      let v = 1e9;
      const samples: Sample[] = [];
      for (let i = 0; i < 120; i++) {
        samples.push({ t, v });
        t += 10_000 + Math.round((r() - 0.5) * 10);
        v = next(i, v);
      }
      const bytes = roundTrip(samples);
      const perSample = bytes.length / samples.length;
      report.push(`${name}: ${perSample.toFixed(2)} B/sample`);
      assert.ok(perSample < 9, `${name}: ${perSample} bytes a sample`);
    }
    console.log(`# bytes per sample, 120-sample chunks:\n#   ${report.join("\n#   ")}`);
  });
});

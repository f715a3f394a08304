import assert from "node:assert/strict";
import { test } from "node:test";
import { formatBytes, formatCount, formatDuration, formatPercent } from "./units.ts";

test("bytes in binary units, three significant digits, unknown as '-'", () => {
  assert.equal(formatBytes(0), "0");
  assert.equal(formatBytes(1023), "1023");
  assert.equal(formatBytes(1024), "1.0K");
  assert.equal(formatBytes(1536), "1.5K");
  assert.equal(formatBytes(10 * 1024), "10K");
  assert.equal(formatBytes(123456789), "118M");
  assert.equal(formatBytes(6939684864), "6.5G");
  assert.equal(formatBytes(-2048), "-2.0K");
  assert.equal(formatBytes(null), "-");
  assert.equal(formatBytes(Number.NaN), "-");
});

test("counts in decimal units; small rates keep a decimal", () => {
  assert.equal(formatCount(0), "0");
  assert.equal(formatCount(2.5), "2.5");
  assert.equal(formatCount(23.886), "24");
  assert.equal(formatCount(999), "999");
  assert.equal(formatCount(12345), "12k");
  assert.equal(formatCount(1500), "1.5k");
  assert.equal(formatCount(2_000_000), "2.0M");
  assert.equal(formatCount(null), "-");
});

test("percent with one decimal; durations from seconds to days", () => {
  assert.equal(formatPercent(63.6385), "63.6");
  assert.equal(formatPercent(null), "-");
  assert.equal(formatDuration(8.85), "8.8s");
  assert.equal(formatDuration(754), "12:34");
  assert.equal(formatDuration(3 * 3600 + 4 * 60), "3h04");
  assert.equal(formatDuration(5 * 86400 + 2 * 3600), "5d02");
  assert.equal(formatDuration(null), "-");
});

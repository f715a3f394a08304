import assert from "node:assert/strict";
import { test } from "node:test";
import { ago, bytes, bytesPerSecond, millis, percent, perSecond } from "./format.ts";

test("units: binary prefixes for bytes, %, per second with SI prefixes, ms, missing values", () => {
  assert.equal(bytes(0), "0 B");
  assert.equal(bytes(1536), "1.50 KiB");
  assert.equal(bytes(256 * 2 ** 20), "256 MiB");
  assert.equal(bytes(3.5 * 2 ** 40), "3.50 TiB");
  assert.equal(bytesPerSecond(4 * 2 ** 20), "4.00 MiB/s");
  assert.equal(percent(0.123), "12.3 %");
  assert.equal(percent(3.5), "350 %");
  assert.equal(perSecond(12_500), "12.5 kops/s");
  assert.equal(millis(0.0042), "4.20 ms");
  for (const f of [bytes, percent, perSecond, millis]) assert.equal(f(null), "–");
  assert.equal(bytes(Number.NaN), "–");
});

test("ago: seconds, minutes, hours, days", () => {
  const now = 1_000_000_000;
  assert.equal(ago(now - 12_000, now), "12 s ago");
  assert.equal(ago(now - 180_000, now), "3 min ago");
  assert.equal(ago(now - 2 * 3600_000, now), "2 h ago");
  assert.equal(ago(now - 4 * 86400_000, now), "4 d ago");
  assert.equal(ago(null, now), "never");
});

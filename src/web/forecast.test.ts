import assert from "node:assert/strict";
import { test } from "node:test";
import { fillUp, fillUpText, MIN_POINTS } from "./forecast.ts";
import type { Points } from "./series.ts";

const T0 = 1_790_000_000;
/** One point every `step` seconds: fullness f(k). */
const line = (count: number, step: number, f: (k: number) => number): Points =>
  Array.from({ length: count }, (_, k) => [T0 + k * step, f(k)]);

/** A fixed pseudo-random noise in [-1, 1] (the same every run). */
const noise = (k: number) =>
  Math.sin(k * 12.9898) * 43758.5453 - Math.floor(Math.sin(k * 12.9898) * 43758.5453) - 0.5;

test("rising: the line reaches full when the trend says", () => {
  // 50 % now, +1 % per hour: full in 50 h.
  const points = line(24, 3600, (k) => 0.27 + 0.01 * k);
  const f = fillUp(points);
  assert.ok(f);
  assert.ok(Math.abs(f.secondsToFull - 50 * 3600) < 1, String(f.secondsToFull));
  assert.ok(Math.abs(f.slope - 0.01 / 3600) < 1e-12);
  assert.equal(fillUpText(f), "full in ~2 d");
  assert.equal(fillUpText(fillUp(line(24, 3600, (k) => 0.37 + 0.01 * k))!), "full in ~40 h");
  assert.equal(fillUpText(fillUp(line(24, 60, (k) => 0.5 + 0.01 * k))!), "full in ~27 min");
  assert.equal(fillUpText(fillUp(line(10, 86400, (k) => 0.1 + 0.05 * k))!), "full in ~9 d");
});

test("flat or falling: no forecast", () => {
  assert.equal(fillUp(line(30, 60, () => 0.42)), null);
  assert.equal(fillUp(line(30, 60, (k) => 0.9 - 0.001 * k)), null);
});

test("noisy: no forecast from noise, one from a clear trend under noise", () => {
  assert.equal(fillUp(line(60, 60, (k) => 0.5 + 0.02 * noise(k))), null);
  const f = fillUp(line(60, 3600, (k) => 0.2 + 0.01 * k + 0.01 * noise(k)));
  assert.ok(f && f.r2 > 0.9, JSON.stringify(f));
  // 0.79 at the last point: about 21 h to go.
  assert.ok(Math.abs(f.secondsToFull / 3600 - 21) < 2, String(f.secondsToFull / 3600));
});

test("too few points, or none spread in time: no forecast", () => {
  assert.equal(fillUp(line(MIN_POINTS - 1, 3600, (k) => 0.1 * k)), null);
  assert.equal(fillUp([]), null);
  assert.equal(fillUp(line(MIN_POINTS, 0, (k) => 0.1 * k)), null);
});

test("beyond a year, no forecast; past the limit, full now", () => {
  assert.equal(fillUp(line(24, 3600, (k) => 0.5 + 1e-6 * k)), null);
  const full = fillUp(line(10, 60, (k) => 0.95 + 0.01 * k));
  assert.equal(full?.secondsToFull, 0);
  assert.equal(fillUpText(full!), "full now");
  // Against a limit in bytes: 10 GiB used, +1 GiB a day, 20 GiB size.
  const gib = 2 ** 30;
  const bytes = fillUp(
    line(8, 86400, (k) => (3 + k) * gib),
    20 * gib,
  );
  assert.ok(bytes && Math.abs(bytes.secondsToFull - 10 * 86400) < 1);
});

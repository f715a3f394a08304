import assert from "node:assert/strict";
import { test } from "node:test";
import { averagePerEvent, counterRate, counterValue } from "./rate.ts";

test("rate over the measured elapsed time", () => {
  assert.equal(counterRate(100, 300, 2), 100);
  assert.equal(counterRate(100, 300, 4), 50);
});

test("no previous value or no elapsed time gives null, not zero", () => {
  assert.equal(counterRate(undefined, 300, 2), null);
  assert.equal(counterRate(null, 300, 2), null);
  assert.equal(counterRate(100, 300, null), null);
  assert.equal(counterRate(100, 300, 0), null);
  assert.equal(counterRate(100, 300, -1), null);
});

test("a counter going down is a reset: rate = current / elapsed, never negative", () => {
  assert.equal(counterRate(1_000_000, 20, 2), 10);
  assert.equal(counterRate(1_000_000, 0, 2), 0);
});

test("an explicit reset (VM restarted) ignores a previous value below the current one", () => {
  // Restarted VM whose fresh counter already passed the old value: the old value is not a valid base.
  assert.equal(counterRate(100, 150, 5, true), 30);
});

test("counterValue() keeps the total and computes the rate from the previous CounterValue", () => {
  assert.deepEqual(counterValue(50, { total: 10, perSecond: null }, 4), { total: 50, perSecond: 10 });
  assert.deepEqual(counterValue(50, null, 4), { total: 50, perSecond: null });
});

test("average per event: latency = Δtime / Δrequests, null when nothing happened", () => {
  assert.equal(averagePerEvent({ total: 3, perSecond: 0.5 }, { total: 30, perSecond: 50 }), 0.01);
  assert.equal(averagePerEvent({ total: 3, perSecond: 0 }, { total: 30, perSecond: 0 }), null);
  assert.equal(averagePerEvent({ total: 3, perSecond: null }, { total: 30, perSecond: 5 }), null);
  assert.equal(averagePerEvent(null, { total: 30, perSecond: 5 }), null);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { sampleSeries } from "./fixtures/harness.ts";
import { stateCollector } from "./state.ts";

test("running/booted with uptime from the process start", () => {
  const { samples } = sampleSeries([stateCollector], ["tcg-2.stats"], { processStartedAt: 1795480660324 });
  assert.deepEqual(samples[0]!.state, {
    state: "running",
    code: 1,
    reason: "booted",
    reasonCode: 1,
    active: true,
    uptimeSeconds: 27,
  });
});

test("shut-off domain: inactive, no uptime", () => {
  const { samples } = sampleSeries([stateCollector], ["shutoff.stats"], { processStartedAt: 1 });
  assert.equal(samples[0]!.state!.state, "shutoff");
  assert.equal(samples[0]!.state!.active, false);
  assert.equal(samples[0]!.state!.uptimeSeconds, null);
});

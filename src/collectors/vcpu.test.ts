import assert from "node:assert/strict";
import { test } from "node:test";
import { near, sampleSeries } from "./fixtures/harness.ts";
import { vcpuCollector } from "./vcpu.ts";

const DT = (1795480687324 - 1795480679244) / 1000;

test("per-vCPU time and delay (steal) rates from a real TCG guest", () => {
  const [, s] = sampleSeries([vcpuCollector], ["tcg-1.stats", "tcg-2.stats"]).samples;
  const v = s!.vcpus!;
  assert.equal(v.current, 2);
  assert.equal(v.maximum, 2);
  assert.equal(v.list.length, 2);
  const v1 = v.list[1]!;
  assert.equal(v1.state, 1);
  near(v1.timeSeconds!.perSecond, (6710000000 - 1870000000) / 1e9 / DT, "vcpu1 busy");
  assert.ok(v1.delaySeconds!.perSecond! >= 0);
  assert.equal(v1.waitSeconds!.total, 0);
});

test("a shut-off domain keeps vCPU counts but has no per-vCPU entries", () => {
  const [s] = sampleSeries([vcpuCollector], ["shutoff.stats"]).samples;
  assert.deepEqual(s!.vcpus, { current: 2, maximum: 2, list: [] });
});

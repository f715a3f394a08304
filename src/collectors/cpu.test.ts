import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuCollector } from "./cpu.ts";
import { near, sampleSeries } from "./fixtures/harness.ts";

// tcg-1 → tcg-2: a TCG lab guest burning one vCPU, recorded 8.080 s apart (1795480679244 → 1795480687324 ms).
const DT = (1795480687324 - 1795480679244) / 1000;

test("CPU time and CPU % over the measured elapsed time (real fixture)", () => {
  const [first, second] = sampleSeries([cpuCollector], ["tcg-1.stats", "tcg-2.stats"]).samples;
  assert.equal(first!.cpu!.timeSeconds.total, 6.401327);
  assert.equal(first!.cpu!.timeSeconds.perSecond, null, "no rate on the first sample");
  assert.equal(first!.cpu!.hostCpuRatio, null);
  const c = second!.cpu!;
  assert.equal(c.timeSeconds.total, 11.543321);
  assert.equal(c.userSeconds!.total > 0, true);
  const ratio = (11543321000 - 6401327000) / 1e9 / DT; // ≈ 0.636 host CPUs
  near(c.timeSeconds.perSecond, ratio, "cpu rate");
  near(c.hostCpuRatio, ratio, "host cpu ratio");
  near(c.vcpuRatio, ratio / 2, "vcpu ratio (2 vCPUs)");
});

test("CPU % uses the measured gap, not a configured interval: a late sample gives a lower rate", () => {
  const t0 = 1_000_000;
  const [, late] = sampleSeries([cpuCollector], ["tcg-1.stats", "tcg-2.stats"], {
    times: [t0, t0 + 20_000],
  }).samples;
  near(late!.cpu!.hostCpuRatio, 5.141994 / 20, "ratio over 20 s");
});

test("VM restarted (new id, counter lower): rate = new total / elapsed, never negative", () => {
  // tcg-2 (id 11, cpu.time 11.543321 s) → tcg-restarted (id 18, cpu.time 6.855805 s), 37.054 s later.
  const { samples } = sampleSeries([cpuCollector], ["tcg-2.stats", "tcg-restarted.stats"]);
  const dt = (1795480724378 - 1795480687324) / 1000;
  near(samples[1]!.cpu!.timeSeconds.perSecond, 6.855805 / dt, "rate after reset");
  assert.ok(samples[1]!.cpu!.hostCpuRatio! >= 0);
});

test("VM restarted with a counter already above the old one: still a reset (id changed)", () => {
  const t0 = 2_000_000;
  // tcg-restarted (id 18, 6.855805 s) then tcg-2 (id 11, 11.543321 s) 10 s later: ids differ, so no Δ.
  const { samples } = sampleSeries([cpuCollector], ["tcg-restarted.stats", "tcg-2.stats"], {
    times: [t0, t0 + 10_000],
  });
  near(samples[1]!.cpu!.timeSeconds.perSecond, 11.543321 / 10, "reset rate");
});

test("a shut-off domain has no CPU section even though libvirt still reports cpu.time", () => {
  const [s] = sampleSeries([cpuCollector], ["shutoff.stats"]).samples;
  assert.equal(s!.cpu, null);
});

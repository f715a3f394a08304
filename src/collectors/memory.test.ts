import assert from "node:assert/strict";
import { test } from "node:test";
import { sampleSeries } from "./fixtures/harness.ts";
import { memoryCollector } from "./memory.ts";

const KiB = 1024;

test("memory from a lab guest with a balloon driver (real fixture tcg-2)", () => {
  const [, m] = sampleSeries([memoryCollector], ["tcg-1.stats", "tcg-2.stats"]).samples.map((s) => s.memory!);
  assert.equal(m!.currentBytes, 262144 * KiB);
  assert.equal(m!.maximumBytes, 262144 * KiB);
  assert.equal(m!.rssBytes, 269140 * KiB);
  assert.equal(m!.availableBytes, 210492 * KiB);
  assert.equal(m!.unusedBytes, 168036 * KiB);
  assert.equal(m!.usableBytes, 172288 * KiB);
  assert.equal(m!.diskCachesBytes, 11152 * KiB);
  // used = available − usable = 210492 − 172288 KiB: about 37 MiB of a 256 MiB guest, not its maximum.
  assert.equal(m!.usedBytes, (210492 - 172288) * KiB);
  assert.equal(m!.usedFormula, "available-usable");
  assert.notEqual(m!.usedBytes, m!.maximumBytes);
  assert.equal(m!.balloonLastUpdate, 1795480685);
  assert.deepEqual(m!.minorFaults!.total, 3095);
  assert.equal(m!.swapInBytes!.total, 0);
});

test("no balloon driver (boot-sector KVM guest): used is unknown, never the maximum", () => {
  const [m] = sampleSeries([memoryCollector], ["kvm-nova-1.stats"]).samples.map((s) => s.memory!);
  assert.equal(m!.currentBytes, 32768 * KiB);
  assert.equal(m!.usedBytes, null);
  assert.equal(m!.availableBytes, null);
  assert.equal(m!.balloonLastUpdate, null, "last-update=0 means never, not 1970");
});

test("a shut-off domain has no memory section", () => {
  const [s] = sampleSeries([memoryCollector], ["shutoff.stats"]).samples;
  assert.equal(s!.memory, null);
});

test("the harness fails a test whose collector throws (a null section alone proves nothing)", () => {
  const throwing = {
    ...memoryCollector,
    collect() {
      throw new Error("broken");
    },
  };
  assert.throws(
    () => sampleSeries([throwing], ["shutoff.stats"]),
    /collector memory failed on shutoff\.stats: broken/,
  );
  const { samples, failures } = sampleSeries([throwing], ["shutoff.stats"], { allowFailures: true });
  assert.equal(samples[0]!.memory, null);
  assert.deepEqual(
    failures.map((f) => [f.collector, f.domain, f.error.message]),
    [["memory", "kvmon-fixture-off", "broken"]],
  );
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { blockCollector } from "./block.ts";
import { near, sampleSeries } from "./fixtures/harness.ts";

// tcg-1 → tcg-2: the guest wrote 8 MiB (128 × 64 KiB, O_DIRECT) and read 4 MiB (64 × 64 KiB) in 8.080 s.
const DT = (1795480687324 - 1795480679244) / 1000;

test("per-disk rates and average latency from two real snapshots", () => {
  const [, s] = sampleSeries([blockCollector], ["tcg-1.stats", "tcg-2.stats"]).samples;
  assert.equal(s!.block!.length, 1);
  const d = s!.block![0]!;
  assert.equal(d.name, "vda");
  assert.equal(d.path, "/tmp/kvfix/tcg.qcow2");
  assert.equal(d.writeBytes!.total, 8388608);
  near(d.writeBytes!.perSecond, 8388608 / DT, "write B/s");
  near(d.writeRequests!.perSecond, 128 / DT, "write IOPS");
  near(d.readBytes!.perSecond, (4208128 - 13824) / DT, "read B/s");
  near(d.readRequests!.perSecond, (69 - 5) / DT, "read IOPS");
  // latency = Δtime / Δrequests
  near(d.writeLatencySeconds, (34146476 - 0) / 1e9 / 128, "write latency");
  near(d.readLatencySeconds, (16505183 - 323535) / 1e9 / 64, "read latency");
  assert.equal(d.flushLatencySeconds, null, "no flush in the window: unknown, not 0");
  assert.equal(d.flushRequests!.perSecond, 0);
  assert.equal(d.capacityBytes, 67108864);
  assert.equal(typeof d.allocationBytes, "number");
  assert.equal(typeof d.physicalBytes, "number");
});

test("first sample: totals, no rates, no latency", () => {
  const [s] = sampleSeries([blockCollector], ["tcg-1.stats"]).samples;
  const d = s!.block![0]!;
  assert.equal(d.readRequests!.total, 5);
  assert.equal(d.readBytes!.perSecond, null);
  assert.equal(d.readLatencySeconds, null);
});

test("after a VM restart the counters restart: rates from the new totals, no negative rate", () => {
  const [, s] = sampleSeries([blockCollector], ["tcg-2.stats", "tcg-restarted.stats"]).samples;
  const d = s!.block![0]!;
  for (const c of [d.readBytes, d.writeBytes, d.readRequests, d.writeRequests]) assert.ok(c!.perSecond! >= 0);
  assert.equal(d.writeBytes!.perSecond, 0);
});

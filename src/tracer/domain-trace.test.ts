import assert from "node:assert/strict";
import { test } from "node:test";
import { DomainTrace, MAX_ROWS } from "./domain-trace.ts";

const c = (reason: string, target = "") => ({ reason, target, details: { n: 1 } });

test("counts per vCPU x event x reason x target, totals and rates over the seconds traced", () => {
  const t = new DomainTrace("vm", 1_000_000, 1_060_000, 4);
  for (let i = 0; i < 3; i++) t.add(1_000_100 + i, 0, "kvm_pio", c("write", "0x80"));
  t.add(1_000_200, 1, "kvm_pio", c("write", "0x80"));
  t.add(1_001_500, 0, "kvm_emulate_insn", c("real"));
  const counts = t.counts(1_002_000);
  assert.equal(counts.total, 5);
  assert.equal(counts.seconds, 2);
  assert.deepEqual(counts.events.kvm_pio, { count: 4, perSecond: 2 });
  assert.deepEqual(counts.rows[0], { vcpu: 0, event: "kvm_pio", reason: "write", target: "0x80", count: 3 });
  assert.equal(counts.rows.length, 3);
  assert.deepEqual(counts.series, [
    { second: 1000, counts: { kvm_pio: 4 } },
    { second: 1001, counts: { kvm_emulate_insn: 1 } },
  ]);
  t.stoppedAt = 1_004_000;
  assert.equal(t.counts(9_999_999).seconds, 4, "after off, the seconds it ran");
});

test("the ring keeps the most recent events, in time order, filtered by since and limit", () => {
  const t = new DomainTrace("vm", 0, 1, 4);
  for (const time of [10, 30, 20, 40, 50, 60]) t.add(time, 0, "kvm_pio", c("read"));
  assert.deepEqual(
    t.recent(10).map((e) => e.time),
    [20, 40, 50, 60],
  );
  assert.deepEqual(
    t.recent(2).map((e) => e.time),
    [50, 60],
  );
  assert.deepEqual(
    t.recent(10, 40).map((e) => e.time),
    [50, 60],
  );
  assert.deepEqual(new DomainTrace("vm", 0, 1, 4).recent(10), []);
});

test("distinct targets past MAX_ROWS are counted under 'other'", () => {
  const t = new DomainTrace("vm", 0, 1, 1);
  for (let i = 0; i < MAX_ROWS + 10; i++) t.add(1, 0, "kvm_mmio", c("write", `0x${i.toString(16)}`));
  const rows = t.counts(1).rows;
  assert.equal(rows.length, MAX_ROWS + 1);
  assert.deepEqual(rows[0], { vcpu: 0, event: "kvm_mmio", reason: "write", target: "other", count: 10 });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { goldenSnapshot } from "../testing/server-fixture.ts";
import { hostView, hostViewSchema } from "./host-view.ts";
import type { HostRecord } from "./state.ts";

const record = (snapshot: HostRecord["snapshot"]): HostRecord => ({
  name: "h1",
  agent: null,
  snapshot,
  lastPushAt: 1000,
  version: "kvmon-agent/0.1.0",
});

test("host CPU and memory come from the pushed snapshot's host usage", () => {
  const snap = goldenSnapshot();
  const v = hostView(record(snap), 2000, 10_000);
  assert.equal(v.cpuUsageRatio, snap.host.usage!.cpuRatio);
  assert.equal(v.memoryUsedBytes, snap.host.usage!.memory!.usedBytes);
  assert.equal(v.memoryTotalBytes, snap.host.usage!.memory!.totalBytes);
  assert.deepEqual(hostViewSchema.parse(v), v);
});

test("no usage (collector off, an agent or stored snapshot older than it, no snapshot yet): nulls", () => {
  const snap = goldenSnapshot();
  snap.host.usage = null;
  const old = goldenSnapshot() as unknown as { host: Record<string, unknown> };
  delete old.host.usage;
  for (const s of [snap, old as unknown as HostRecord["snapshot"], null]) {
    const v = hostView(record(s), 2000, 10_000);
    assert.deepEqual([v.cpuUsageRatio, v.memoryUsedBytes, v.memoryTotalBytes], [null, null, null]);
    assert.deepEqual(hostViewSchema.parse(v), v);
  }
});

import assert from "node:assert/strict";
import { test } from "node:test";
import type { DomainStatsRecord } from "../protocol/libvirt/index.ts";
import { diskLatencies } from "./latency.ts";

function record(id: number, disks: Record<string, Record<string, bigint>>): DomainStatsRecord {
  const params = new Map<string, number | bigint | string>([
    ["state.state", 1],
    ["block.count", Object.keys(disks).length],
  ]);
  Object.entries(disks).forEach(([name, fields], i) => {
    params.set(`block.${i}.name`, name);
    for (const [k, v] of Object.entries(fields)) params.set(`block.${i}.${k}`, v);
  });
  return { domain: { name: "d", uuid: "00000000-0000-0000-0000-000000000001", id }, params };
}

const counters = (
  rdReqs: number,
  rdNs: number,
  wrReqs: number,
  wrNs: number,
  flReqs: number,
  flNs: number,
) => ({
  "rd.reqs": BigInt(rdReqs),
  "rd.times": BigInt(rdNs),
  "wr.reqs": BigInt(wrReqs),
  "wr.times": BigInt(wrNs),
  "fl.reqs": BigInt(flReqs),
  "fl.times": BigInt(flNs),
});

test("average latency = Δtime / Δrequests per disk and kind; a kind with no request in the window is null", () => {
  const first = record(5, { vda: counters(100, 1e9, 10, 1e8, 4, 4e7), vdb: counters(0, 0, 0, 0, 0, 0) });
  const second = record(5, {
    vda: counters(300, 1e9 + 200 * 2e6, 20, 1e8 + 10 * 5e5, 4, 4e7),
    vdb: counters(0, 0, 1, 3e6, 1, 7e6),
  });
  const out = diskLatencies({ record: first, at: 10_000 }, { record: second, at: 12_000 });
  const vda = out.get("vda")!;
  assert.equal(vda.windowSeconds, 2);
  assert.ok(Math.abs(vda.read! - 0.002) < 1e-12, `read ${vda.read}`);
  assert.ok(Math.abs(vda.write! - 0.0005) < 1e-12, `write ${vda.write}`);
  assert.equal(vda.flush, null, "no flush in the window: no latency, not zero");
  assert.deepEqual([vda.readRequests, vda.writeRequests, vda.flushRequests], [200, 10, 0]);
  const vdb = out.get("vdb")!;
  assert.equal(vdb.read, null);
  assert.ok(Math.abs(vdb.write! - 0.003) < 1e-12);
  assert.ok(Math.abs(vdb.flush! - 0.007) < 1e-12);
});

test("a restarted QEMU (new domain id) counts from zero, as the agent's block collector does", () => {
  const first = record(5, { vda: counters(100, 1e9, 10, 1e8, 4, 4e7) });
  const second = record(6, { vda: counters(3, 3e6, 1, 1e6, 0, 0) });
  const vda = diskLatencies({ record: first, at: 0 }, { record: second, at: 2000 }).get("vda")!;
  assert.ok(Math.abs(vda.read! - 0.001) < 1e-12, `read ${vda.read}`);
  assert.ok(Math.abs(vda.write! - 0.001) < 1e-12);
  assert.deepEqual([vda.readRequests, vda.writeRequests, vda.flushRequests], [3, 1, 0]);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { diskView, nicView, vcpuView, vmView } from "./columns.ts";
import { type DiskRow, type NicRow, type VcpuRow, vmRow } from "./rows.ts";
import { columnWidths, drawTable, filterDomains, sortRows, viewRows } from "./table.ts";
import { goldenDomain, goldenView } from "./testing.ts";

const snap = goldenView();
const names = (rows: Array<{ name: string }>) => rows.map((r) => r.name);

test("a VM row carries the model's numbers in the table's units", () => {
  const r = vmRow(goldenDomain("kvmon-fixture-tcg"));
  assert.equal(r.state, "running");
  assert.ok(Math.abs(r.cpuPercent! - 63.6385396039604) < 1e-9);
  assert.equal(r.memoryTotalBytes, 215543808, "MemTotal from the balloon driver");
  assert.equal(r.memoryUsedBytes, 39120896);
  assert.equal(r.memorySource, "balloon");
  assert.ok(Math.abs(r.diskReadBytesPerSecond! - 519097.0297029703) < 1e-6);
  assert.ok(Math.abs(r.netRxBytesPerSecond! - 24752.47524752475) < 1e-6);
  // Steal: vcpu.N.delay per second, averaged over the vCPUs, in percent.
  assert.ok(Math.abs(r.stealPercent! - ((0.04743474950495049 + 0.15561745061881188) / 2) * 100) < 1e-9);
  assert.equal(r.kvmExitsPerSecond, null, "TCG: no KVM stats");
  assert.equal(vmRow(goldenDomain("kvmon-fixture-nova")).kvmExitsPerSecond, 23.886138613861387);
  const off = vmRow(goldenDomain("kvmon-fixture-off"));
  assert.equal(off.state, "shutoff");
  assert.equal(off.cpuPercent, null);
  assert.equal(off.diskReadBytesPerSecond, null, "a shut-off VM has no rates, not zero");
});

test("the guest's own memory figures win over the balloon's", () => {
  const d = goldenDomain("kvmon-lab-1");
  const withGuest = {
    ...d,
    guest: {
      ...(d.guest ?? ({} as NonNullable<typeof d.guest>)),
      memory: {
        totalBytes: 1000,
        availableBytes: 600,
        freeBytes: 100,
        cachedBytes: null,
        buffersBytes: null,
        swapTotalBytes: null,
        swapFreeBytes: null,
      },
      cpu: {
        user: 0.2,
        nice: 0,
        system: 0.05,
        idle: 0.75,
        iowait: 0,
        irq: 0,
        softirq: 0,
        steal: 0,
        source: "proc-stat" as const,
      },
    },
  } as typeof d;
  const r = vmRow(withGuest);
  assert.deepEqual([r.memoryUsedBytes, r.memoryTotalBytes, r.memorySource], [400, 1000, "guest"]);
  assert.equal(r.guestCpuPercent, 25);
});

test("sorted by CPU: busiest first, unknown last; by name: alphabetical", () => {
  const rows = viewRows(vmView, snap.domains);
  assert.deepEqual(names(sortRows(vmView, rows, "cpu")), [
    "kvmon-fixture-tcg",
    "kvmon-fixture-nova",
    "kvmon-lab-1",
    "kvmon-fixture-off",
  ]);
  assert.deepEqual(names(sortRows(vmView, rows, "P")), names(sortRows(vmView, rows, "cpu")));
  assert.deepEqual(names(sortRows(vmView, rows, "N")), [
    "kvmon-fixture-nova",
    "kvmon-fixture-off",
    "kvmon-fixture-tcg",
    "kvmon-lab-1",
  ]);
  assert.equal(names(sortRows(vmView, rows, "M"))[0], "kvmon-lab-1", "most memory used");
  assert.equal(names(sortRows(vmView, rows, "T"))[0], "kvmon-lab-1", "most CPU time");
});

test("filters: name substring or glob (case-insensitive), state or active/inactive", () => {
  const f = (name: string | null, state: string | null) =>
    names(filterDomains(snap.domains, { name, state }));
  assert.deepEqual(f("FIXTURE", null), ["kvmon-fixture-nova", "kvmon-fixture-off", "kvmon-fixture-tcg"]);
  assert.deepEqual(f("*-t?g", null), ["kvmon-fixture-tcg"]);
  assert.deepEqual(f("fixture*", null), [], "a glob matches the whole name");
  assert.deepEqual(f(null, "shutoff"), ["kvmon-fixture-off"]);
  assert.deepEqual(f(null, "inactive"), ["kvmon-fixture-off"]);
  assert.deepEqual(f("lab", "active"), ["kvmon-lab-1"]);
});

test("the table: aligned columns, names widen their column, lines cut to the width", () => {
  const rows = sortRows(vmView, viewRows(vmView, snap.domains), "cpu");
  const lines = drawTable(vmView, rows, { width: 1000, sortKey: "cpu", color: false });
  assert.equal(lines.length, 5);
  assert.match(lines[0]!, /^NAME {15}STATE {6}%CPU/);
  assert.equal(new Set(lines.map((l) => l.length)).size, 1, "every line as wide as the header");
  assert.match(lines[1]!, /^kvmon-fixture-tcg +running +63\.6 /);
  assert.equal(columnWidths(vmView, rows)[0], "kvmon-fixture-nova".length);
  const narrow = drawTable(vmView, rows, { width: 40, sortKey: "cpu", color: false });
  assert.ok(narrow.every((l) => l.length <= 40));
  const coloured = drawTable(vmView, rows, { width: 40, sortKey: "cpu", color: true });
  assert.match(coloured[0]!, /\x1b\[7m {2}%CPU\x1b\[27m/, "the sort column in reverse video");
  assert.ok(
    coloured.slice(1).every((l) => !l.includes("\x1b")),
    "rows have no escape codes",
  );
});

test("per-vCPU, per-disk and per-NIC views: a row each", () => {
  const tcg = [goldenDomain("kvmon-fixture-tcg")];
  const v = vcpuView.rows(tcg[0]!) as VcpuRow[];
  assert.deepEqual(
    v.map((r) => r.vcpu),
    [0, 1],
  );
  assert.ok(Math.abs(v[1]!.cpuPercent! - 59.9009900990099) < 1e-9);
  assert.deepEqual(
    (diskView.rows(tcg[0]!) as DiskRow[]).map((r) => r.disk),
    ["vda"],
  );
  assert.deepEqual(
    (nicView.rows(tcg[0]!) as NicRow[]).map((r) => r.nic),
    ["vnet8"],
  );
  const lines = drawTable(nicView, viewRows(nicView, tcg), { width: 200, sortKey: "rx", color: false });
  assert.match(lines[1]!, /vnet8 .* 24K /);
});

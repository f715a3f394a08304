import assert from "node:assert/strict";
import { test } from "node:test";
import type { GuestSample } from "../../model/types.ts";
import { emptyGuestSample } from "../../model/guest.ts";
import { drawBlocks, vmBlock } from "./blocks.ts";
import { goldenDomain, goldenView } from "./testing.ts";

test("a block: CPU total and per vCPU, memory total/free in kB, each NIC's totals whole", () => {
  const b = vmBlock(goldenDomain("kvmon-fixture-tcg"));
  assert.equal(b[0], "kvmon-fixture-tcg  running  vcpus 2");
  assert.match(b[1]!, /^ {2}cpu +total 63\.6% +steal 10\.2%/);
  assert.equal(b[2], "  cpu     vcpu0 1.6%  vcpu1 59.9%");
  assert.equal(b[3], "  memory  total 210492 kB  free 168036 kB  available 172288 kB  (balloon driver)");
  assert.match(b[4]!, /^ {2}net +vnet8 +rx 200726 B \d+ pkt \(24K?B\/s\)/);
  assert.match(b[4]!, /\(host tap\)$/);
});

test("the guest's /proc figures are used when the guest view has them; loopback is left out", () => {
  const d = goldenDomain("kvmon-lab-1");
  const guest: GuestSample = {
    ...emptyGuestSample(0),
    memory: {
      totalBytes: 512 * 1024 * 1024,
      freeBytes: 100 * 1024 * 1024,
      availableBytes: 300 * 1024 * 1024,
      cachedBytes: null,
      buffersBytes: null,
      swapTotalBytes: null,
      swapFreeBytes: null,
    },
    interfaces: ["lo", "eth0"].map((name) => ({
      name,
      mac: null,
      addresses: [],
      rxBytes: { total: 12345, perSecond: 10 },
      txBytes: { total: 678, perSecond: 0 },
      rxPackets: { total: 90, perSecond: 1 },
      txPackets: { total: 9, perSecond: 0 },
      rxErrors: null,
      txErrors: null,
      rxDropped: null,
      txDropped: null,
    })),
  };
  const b = vmBlock({ ...d, guest });
  assert.ok(
    b.includes("  memory  total 524288 kB  free 102400 kB  available 307200 kB  (guest /proc/meminfo)"),
  );
  const net = b.filter((l) => l.startsWith("  net"));
  assert.equal(net.length, 1);
  assert.match(net[0]!, /eth0 +rx 12345 B 90 pkt .* tx 678 B 9 pkt .*\(guest\)$/);
});

test("a shut-off VM is one line; every VM gets a block under one time stamp", () => {
  assert.deepEqual(vmBlock(goldenDomain("kvmon-fixture-off")), ["kvmon-fixture-off  shutoff  vcpus 2"]);
  const snap = goldenView();
  const lines = drawBlocks(snap.domains, snap.collectedAt);
  assert.equal(lines[0], `--- ${new Date(snap.collectedAt).toISOString()}`);
  for (const d of snap.domains)
    assert.ok(
      lines.some((l) => l.startsWith(`${d.name}  `)),
      d.name,
    );
});

/**
 * The guest view on a lab guest through libvirt, against what the guest itself says: `virsh guestinfo` and
 * `virsh qemu-agent-command` (guest-exec of cat /proc/meminfo, guest-network-get-interfaces) as witnesses.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { GUEST_URI, guestSh, openLabGuestView } from "../guest-helpers.ts";
import { labGuests } from "../lab.ts";
import { virsh } from "../libvirt-helpers.ts";

const guest = labGuests[0]!;

test("identity, filesystems, memory and interfaces match the guest's own answers", async () => {
  const view = await openLabGuestView(guest);
  try {
    const g = await view.fresh();
    assert.equal(g.agent.lastError, null);
    const info = new Map(
      (await virsh(GUEST_URI, "guestinfo", guest))
        .split("\n")
        .map((l) => /^(\S+)\s+: (.*)$/.exec(l))
        .filter((m) => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
    assert.equal(g.identity?.hostname, info.get("hostname"));
    assert.equal(g.identity?.kernelRelease, info.get("os.kernel-release"));
    assert.equal(g.filesystems?.[0]?.mountpoint, info.get("fs.0.mountpoint"));
    assert.equal(g.filesystems?.[0]?.totalBytes, Number(info.get("fs.0.total-bytes")));
    const meminfo = await guestSh(guest, "cat /proc/meminfo");
    const memTotal = Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)![1]) * 1024;
    assert.equal(g.memory?.totalBytes, memTotal);
    const ifs = JSON.parse(
      await virsh(GUEST_URI, "qemu-agent-command", guest, '{"execute":"guest-network-get-interfaces"}'),
    ) as { return: { name: string; "hardware-address": string }[] };
    assert.deepEqual(
      g.interfaces?.map((i) => [i.name, i.mac]),
      ifs.return.map((i) => [i.name, i["hardware-address"]]),
    );
    assert.ok(Math.abs(g.clock!.driftSeconds) < 5, String(g.clock?.driftSeconds));
    assert.ok((g.vcpus?.online ?? 0) >= 1);
    assert.ok(g.load !== null && g.load.load1 >= 0);
  } finally {
    await view.close();
  }
});

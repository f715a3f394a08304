/**
 * The guest view on a lab guest through libvirt, against what the guest itself says: `virsh guestinfo` and
 * `virsh qemu-agent-command` (guest-exec of cat /proc/meminfo, guest-network-get-interfaces) as witnesses.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { openGuestView } from "../../src/collectors/guest/index.ts";
import { LibvirtClient } from "../../src/protocol/libvirt/index.ts";
import { QgaClient, QgaLibvirtTransport } from "../../src/protocol/qga/index.ts";
import { labGuests } from "../lab.ts";
import { virsh } from "../libvirt-helpers.ts";

const URI = "qemu:///system";
const guest = labGuests[0]!;

test("identity, filesystems, memory and interfaces match the guest's own answers", async () => {
  const view = openGuestView({ uri: URI, tiers: { fast: 10, medium: 10, slow: 10 }, callTimeoutMs: 3000 });
  const c = await LibvirtClient.open(URI);
  try {
    const dom = await c.lookupByName(guest);
    let g = await view.source.fetch(dom, new AbortController().signal);
    for (let i = 0; i < 20 && g.agent.status !== "connected"; i++) {
      await new Promise((r) => setTimeout(r, 250)); // the view's connection may still be opening
      view.source.agentLifecycle(dom.uuid, true);
      g = await view.source.fetch(dom, new AbortController().signal);
    }
    assert.equal(g.agent.status, "connected", g.agent.lastError ?? "");
    assert.equal(g.agent.lastError, null);
    const info = new Map(
      (await virsh(URI, "guestinfo", guest))
        .split("\n")
        .map((l) => /^(\S+)\s+: (.*)$/.exec(l))
        .filter((m) => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
    assert.equal(g.identity?.hostname, info.get("hostname"));
    assert.equal(g.identity?.kernelRelease, info.get("os.kernel-release"));
    assert.equal(g.filesystems?.[0]?.mountpoint, info.get("fs.0.mountpoint"));
    assert.equal(g.filesystems?.[0]?.totalBytes, Number(info.get("fs.0.total-bytes")));
    const agent = new QgaClient(new QgaLibvirtTransport(c, dom));
    const meminfo = (await agent.exec(["/bin/cat", "/proc/meminfo"])).stdout;
    const memTotal = Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)![1]) * 1024;
    assert.equal(g.memory?.totalBytes, memTotal);
    const ifs = JSON.parse(
      await virsh(URI, "qemu-agent-command", guest, '{"execute":"guest-network-get-interfaces"}'),
    ) as { return: { name: string; "hardware-address": string }[] };
    assert.deepEqual(
      g.interfaces?.map((i) => [i.name, i.mac]),
      ifs.return.map((i) => [i.name, i["hardware-address"]]),
    );
    assert.ok(Math.abs(g.clock!.driftSeconds) < 5, String(g.clock?.driftSeconds));
    assert.ok((g.vcpus?.online ?? 0) >= 1);
    assert.ok(g.load !== null && g.load.load1 >= 0);
  } finally {
    await c.close();
    await view.close();
  }
});

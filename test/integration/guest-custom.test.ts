/**
 * Custom guest-agent commands (config guest.custom) on a lab guest: two stock commands declared through the
 * config file exactly as a site declares its own, compared with the guest's own answers through
 * `virsh qemu-agent-command`: guest-get-fsinfo → used bytes per mountpoint, guest-get-vcpus → vCPUs online.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../../src/agent/config.ts";
import { FamilyWriter } from "../../src/metrics/exposition.ts";
import { GUEST_URI, openLabGuestView } from "../guest-helpers.ts";
import { labGuests } from "../lab.ts";
import { virsh } from "../libvirt-helpers.ts";

const guest = labGuests[0]!;

const CONFIG = {
  guest: {
    custom: [
      {
        command: "guest-get-fsinfo",
        tier: "slow",
        metrics: [
          {
            name: "filesystem_used_bytes",
            help: "Used bytes per guest mountpoint (guest.custom).",
            path: "return[].used-bytes",
            label: { name: "mountpoint", path: "mountpoint" },
          },
        ],
      },
      {
        command: "guest-get-vcpus",
        tier: "medium",
        metrics: [{ name: "vcpus_online", path: "return[].online", sum: true }],
      },
    ],
  },
};

async function agentCommand<T>(command: string): Promise<T> {
  const out = await virsh(GUEST_URI, "qemu-agent-command", guest, JSON.stringify({ execute: command }));
  return (JSON.parse(out) as { return: T }).return;
}

test("guest.custom: fsinfo used bytes per mountpoint and vCPUs online match the guest's own answers", async () => {
  const config = loadConfig({ file: "custom.json", readFile: () => JSON.stringify(CONFIG) });
  const view = await openLabGuestView(guest, config.guest.custom);
  try {
    const g = await view.fresh();
    assert.equal(g.agent.lastError, null);
    const fsinfo = await agentCommand<{ mountpoint: string; "used-bytes"?: number }[]>("guest-get-fsinfo");
    const vcpus = await agentCommand<{ online: boolean }[]>("guest-get-vcpus");
    const used = new Map(
      (g.custom ?? [])
        .filter((s) => s.metric === "kvmon_guest_custom_filesystem_used_bytes")
        .map((s) => [s.label, s.value]),
    );
    const witness = fsinfo.filter((f) => f["used-bytes"] !== undefined);
    assert.ok(witness.length > 0, "the guest reports used bytes for at least one filesystem");
    assert.deepEqual([...used.keys()].sort(), [...new Set(witness.map((f) => f.mountpoint))].sort());
    for (const f of witness) {
      // A filesystem may move between the two reads (logs): within 16 MiB.
      const d = Math.abs((used.get(f.mountpoint) ?? Number.NaN) - f["used-bytes"]!);
      assert.ok(d <= 16 * 2 ** 20, `${f.mountpoint}: ${used.get(f.mountpoint)} vs ${f["used-bytes"]}`);
    }
    const online = g.custom?.find((s) => s.metric === "kvmon_guest_custom_vcpus_online");
    assert.equal(online?.value, vcpus.filter((v) => v.online).length);
    assert.equal(online?.value, g.vcpus?.online, "the same count as the built-in kvmon_guest_vcpus_online");
    for (const f of g.filesystems ?? [])
      if (f.usedBytes !== null)
        assert.equal(used.get(f.mountpoint), f.usedBytes, "as the built-in, same cycle");
    const w = new FamilyWriter();
    for (const s of view.source.metrics) w.declare(s);
    view.source.expose(
      { guest: g } as Parameters<typeof view.source.expose>[0],
      w.emitter(["domain"], [guest]),
    );
    const text = w.render();
    assert.match(text, /^# TYPE kvmon_guest_custom_filesystem_used_bytes gauge$/m);
    assert.match(
      text,
      new RegExp(
        `^kvmon_guest_custom_filesystem_used_bytes\\{domain="${guest}",mountpoint="${witness[0]!.mountpoint}"\\} ${used.get(witness[0]!.mountpoint)}$`,
        "m",
      ),
    );
    assert.match(
      text,
      new RegExp(`^kvmon_guest_custom_vcpus_online\\{domain="${guest}"\\} ${online?.value}$`, "m"),
    );
  } finally {
    await view.close();
  }
});

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { AuditError } from "./errors.ts";
import { findQueryBlock, parseQueryBlock } from "./query-block.ts";

const labReply = readFileSync(new URL("fixtures/lab-1.query-block.json", import.meta.url), "utf8");

test("the lab guest's real query-block reply: vda with cache none (writeback, direct, flushes kept)", () => {
  const disks = parseQueryBlock(labReply);
  assert.deepEqual(disks, [
    {
      qdev: "/machine/peripheral/virtio-disk0/virtio-backend",
      nodeName: "libvirt-1-format",
      file: "/var/lib/kvmon/lab/guests/kvmon-lab-1.qcow2",
      format: "qcow2",
      readOnly: false,
      cache: { writeback: true, direct: true, noFlush: false },
    },
  ]);
});

test("an empty CD-ROM drive (no inserted medium) is left out; -drive style device names are the qdev", () => {
  const reply = JSON.stringify({
    return: [
      { device: "drive-ide0-0-0", locked: false, removable: true, type: "unknown" },
      {
        device: "drive-virtio-disk0",
        inserted: {
          file: "/a.img",
          ro: true,
          drv: "raw",
          cache: { writeback: false, direct: true, "no-flush": false },
        },
      },
    ],
  });
  const disks = parseQueryBlock(reply);
  assert.equal(disks.length, 1);
  assert.equal(disks[0]!.qdev, "drive-virtio-disk0");
  assert.equal(disks[0]!.readOnly, true);
});

test("a reply that is not query-block's (an error, not JSON) is an AuditError", () => {
  for (const bad of ['{"error":{"class":"CommandNotFound"}}', "not json", '{"return":[{"inserted":{}}]}']) {
    assert.throws(
      () => parseQueryBlock(bad),
      (e) => e instanceof AuditError && e.code === "AUDIT_QUERY_BLOCK",
      bad,
    );
  }
});

test("findQueryBlock matches the device id, its QOM path, or else the node name", () => {
  const list = parseQueryBlock(labReply);
  assert.equal(findQueryBlock(list, "virtio-disk0", null), list[0]);
  assert.equal(findQueryBlock(list, "virtio-disk", null), null, "a prefix of the id is not the id");
  assert.equal(findQueryBlock(list, "other", "libvirt-1-format"), list[0]);
  assert.equal(findQueryBlock(list, null, null), null);
});

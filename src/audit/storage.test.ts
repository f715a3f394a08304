import assert from "node:assert/strict";
import { test } from "node:test";
import { storageKind, storageKindOfMagic } from "./storage.ts";
import type { DiskDefinition } from "./types.ts";

const disk = (over: Partial<DiskDefinition>): DiskDefinition => ({
  target: "vda",
  device: "disk",
  type: "file",
  bus: "virtio",
  source: null,
  format: "raw",
  cache: null,
  io: null,
  discard: null,
  shareable: false,
  readonly: false,
  alias: null,
  ...over,
});

test("file system magics: NFS, CIFS, Ceph, GFS2 are shared; ext4, xfs, tmpfs, overlay are local", () => {
  for (const m of [0x6969, 0xff534d42, 0x00c36400, 0x01161970]) assert.equal(storageKindOfMagic(m), "shared");
  for (const m of [0xef53, 0x58465342, 0x01021994, 0x794c7630]) assert.equal(storageKindOfMagic(m), "local");
  assert.equal(
    storageKindOfMagic(-0x00acb2be),
    "shared",
    "statfs may report a magic as a negative 32-bit number",
  );
});

test("storage kind of a disk: network disks are shared by nature, a file's is its file system's", async () => {
  assert.equal(await storageKind(disk({ type: "network", source: "rbd://pool/img" })), "network");
  assert.equal(await storageKind(disk({ type: "block", source: "/dev/sda" })), "unknown");
  assert.equal(await storageKind(disk({ source: null })), "unknown");
  // This file sits on a local file system in the test environment (the repository's own).
  assert.equal(await storageKind(disk({ source: import.meta.filename })), "local");
});

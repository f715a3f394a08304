import assert from "node:assert/strict";
import { test } from "node:test";
import { loadOrder, moduleDepends, normalizeModuleName } from "./modules.ts";

function modinfo(...entries: string[]): Uint8Array {
  // Some ELF-ish noise around a .modinfo-like run of NUL-terminated strings.
  return Buffer.from(
    `\x7fELF\0\0junk depends=fake\x01\0${entries.map((e) => `${e}\0`).join("")}\0tail`,
    "latin1",
  );
}

test("moduleDepends reads the depends= entry of .modinfo", () => {
  const ko = modinfo("license=GPL", "depends=virtio_ring,virtio_pci_modern_dev,virtio", "name=virtio_pci");
  assert.deepEqual(moduleDepends(ko), ["virtio_ring", "virtio_pci_modern_dev", "virtio"]);
});

test("moduleDepends: empty depends= and no depends= both mean none", () => {
  assert.deepEqual(moduleDepends(modinfo("depends=", "name=virtio")), []);
  assert.deepEqual(moduleDepends(modinfo("name=crc16")), []);
});

test("moduleDepends normalizes dashes", () => {
  assert.deepEqual(moduleDepends(modinfo("depends=crc32c-generic")), ["crc32c_generic"]);
  assert.equal(normalizeModuleName("virtio-gpu.ko"), "virtio_gpu");
});

// The real dependencies of Debian 12's 6.1 kernel (modinfo -F depends), the lab recipe's order.
const debian61 = new Map<string, string[]>([
  ["virtio", []],
  ["virtio_ring", []],
  ["virtio_pci_modern_dev", []],
  ["virtio_pci_legacy_dev", []],
  ["virtio_pci", ["virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio"]],
  ["virtio_console", ["virtio", "virtio_ring"]],
  ["failover", []],
  ["net_failover", ["failover"]],
  ["virtio_net", ["virtio_ring", "virtio", "net_failover"]],
  ["virtio_blk", ["virtio", "virtio_ring"]],
  ["crc16", []],
  ["mbcache", []],
  ["jbd2", []],
  ["ext4", ["jbd2", "mbcache", "crc16"]],
]);

test("loadOrder puts every module after its dependencies", () => {
  const order = loadOrder(["virtio_pci", "virtio_console", "virtio_net", "virtio_blk", "ext4"], (n) =>
    debian61.get(n),
  );
  assert.deepEqual(order, [
    "virtio_ring",
    "virtio_pci_modern_dev",
    "virtio_pci_legacy_dev",
    "virtio",
    "virtio_pci",
    "virtio_console",
    "failover",
    "net_failover",
    "virtio_net",
    "virtio_blk",
    "jbd2",
    "mbcache",
    "crc16",
    "ext4",
  ]);
  for (const [i, name] of order.entries()) {
    for (const dep of debian61.get(name) ?? []) assert.ok(order.indexOf(dep) < i, `${dep} before ${name}`);
  }
});

test("loadOrder rejects unknown modules and cycles", () => {
  assert.throws(
    () => loadOrder(["virtio_net"], (n) => (n === "virtio_net" ? ["nope"] : undefined)),
    /module nope not found/,
  );
  const cyclic = new Map([
    ["a", ["b"]],
    ["b", ["a"]],
  ]);
  assert.throws(() => loadOrder(["a"], (n) => cyclic.get(n)), /cycle: a -> b -> a/);
});

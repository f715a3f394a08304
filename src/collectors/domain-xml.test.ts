import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDomainMetadata } from "./domain-xml.ts";
import { loadXml } from "./fixtures/load.ts";
import { XmlError } from "./errors.ts";

test("OpenStack nova metadata, disks and NICs from a real dumpxml", () => {
  const md = parseDomainMetadata(loadXml("kvm-nova.xml"), 42);
  assert.equal(md.fetchedAt, 42);
  assert.deepEqual(md.nova, {
    instanceName: "web-frontend-01",
    projectName: 'webshop & "prod"',
    projectUuid: "9a8b7c6d5e4f40312a1b2c3d4e5f6a7b",
    userName: "alice",
    userUuid: "5f0c3e2a8b6d4b7f9e1a2c3d4e5f6a7b",
    flavorName: "m1.small",
    flavorVcpus: 2,
    flavorMemoryMiB: 2048,
    flavorDiskGiB: 20,
    creationTime: "2026-11-23 21:04:11",
  });
  assert.deepEqual(md.disks, [
    {
      target: "vda",
      bus: "virtio",
      device: "disk",
      type: "file",
      source: "/tmp/kvfix/boot.img",
      format: "raw",
      cache: "none",
      io: "native",
      serial: null,
    },
  ]);
  assert.equal(md.interfaces.length, 1);
  assert.equal(md.interfaces[0]!.mac, "52:54:00:aa:bb:01");
  assert.equal(md.interfaces[0]!.model, "virtio");
  assert.equal(md.interfaces[0]!.type, "ethernet");
  assert.match(md.interfaces[0]!.targetDev!, /^vnet\d+$/);
});

test("a domain without nova metadata (lab guest, qcow2 disk)", () => {
  const md = parseDomainMetadata(loadXml("tcg.xml"), 0);
  assert.equal(md.nova, null);
  assert.equal(md.disks[0]!.format, "qcow2");
  assert.equal(md.disks[0]!.source, "/tmp/kvfix/tcg.qcow2");
  assert.equal(md.interfaces[0]!.targetDev, "vnet8");
});

test("nova metadata under another prefix is recognised by its namespace; foreign metadata is not", () => {
  const xml = (inner: string) => `<domain><name>x</name><metadata>${inner}</metadata><devices/></domain>`;
  const other = parseDomainMetadata(
    xml('<n:instance xmlns:n="http://openstack.org/xmlns/libvirt/nova/1.0"><n:name>i1</n:name></n:instance>'),
    0,
  );
  assert.equal(other.nova?.instanceName, "i1");
  const foreign = parseDomainMetadata(
    xml('<app:instance xmlns:app="urn:other"><app:name>x</app:name></app:instance>'),
    0,
  );
  assert.equal(foreign.nova, null);
});

test("network and block disks get a usable source; disks without target are skipped", () => {
  const md = parseDomainMetadata(
    `<domain><devices>
      <disk type='network' device='disk'><source protocol='rbd' name='pool/img'/><target dev='vdb' bus='virtio'/></disk>
      <disk type='block' device='disk'><source dev='/dev/sdz'/><target dev='sdb' bus='scsi'/><serial>S1</serial></disk>
      <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>
      <disk type='file' device='disk'><source file='/x'/></disk>
    </devices></domain>`,
    0,
  );
  assert.deepEqual(
    md.disks.map((d) => [d.target, d.source, d.device, d.serial]),
    [
      ["vdb", "rbd://pool/img", "disk", null],
      ["sdb", "/dev/sdz", "disk", "S1"],
      ["hdc", null, "cdrom", null],
    ],
  );
});

test("malformed or foreign XML is an error, not empty metadata", () => {
  assert.throws(() => parseDomainMetadata("<domain><devices></domain>", 0), XmlError);
  assert.throws(() => parseDomainMetadata("<network/>", 0), /expected <domain>/);
});

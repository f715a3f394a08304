import assert from "node:assert/strict";
import { test } from "node:test";
import { XmlError } from "../collectors/errors.ts";
import { parseDiskDefinitions } from "./disk-definition.ts";

const xml = `<domain type='kvm'><name>d</name><devices>
  <disk type='file' device='disk'>
    <driver name='qemu' type='qcow2' cache='none' io='native' discard='unmap'/>
    <source file='/var/lib/libvirt/images/d.qcow2' index='1'/>
    <target dev='vda' bus='virtio'/>
    <alias name='virtio-disk0'/>
  </disk>
  <disk type='block' device='disk'>
    <driver name='qemu' type='raw'/>
    <source dev='/dev/vg/shared'/>
    <target dev='sdb' bus='scsi'/>
    <shareable/>
  </disk>
  <disk type='network' device='cdrom'>
    <driver name='qemu' type='raw' cache='writethrough'/>
    <source protocol='rbd' name='pool/iso'/>
    <target dev='sdc' bus='sata'/>
    <readonly/>
  </disk>
  <disk type='file' device='floppy'><driver name='qemu'/></disk>
</devices></domain>`;

test("every disk with a target: cache, io, discard, format, source, shareable, readonly, alias", () => {
  const disks = parseDiskDefinitions(xml);
  assert.deepEqual(
    disks.map((d) => d.target),
    ["vda", "sdb", "sdc"],
  );
  assert.deepEqual(disks[0], {
    target: "vda",
    device: "disk",
    type: "file",
    bus: "virtio",
    source: "/var/lib/libvirt/images/d.qcow2",
    format: "qcow2",
    cache: "none",
    io: "native",
    discard: "unmap",
    shareable: false,
    readonly: false,
    alias: "virtio-disk0",
  });
  assert.equal(disks[1]!.cache, null, "no cache attribute: libvirt's default");
  assert.equal(disks[1]!.shareable, true);
  assert.equal(disks[1]!.source, "/dev/vg/shared");
  assert.equal(disks[2]!.readonly, true);
  assert.equal(disks[2]!.source, "rbd://pool/iso");
  assert.equal(disks[2]!.alias, null);
});

test("a document that is not a domain is an XmlError", () => {
  assert.throws(() => parseDiskDefinitions("<network/>"), XmlError);
});

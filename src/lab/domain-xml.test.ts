import assert from "node:assert/strict";
import { test } from "node:test";
import { LAB_NS } from "./config.ts";
import { guestDomainXml, kvmDomainXml, parseDomainXml, xmlEscape } from "./domain-xml.ts";

const guest = guestDomainXml({
  name: "kvmon-lab-1",
  imageHash: "abc123",
  kernel: "/lab/image/vmlinuz",
  initrd: "/lab/image/initrd.gz",
  dataDisk: "/lab/guests/kvmon-lab-1.qcow2",
  mac: "52:54:00:6b:76:01",
  consoleLog: "/lab/logs/kvmon-lab-1.console.log",
});

test("guest XML: TCG, qemu64, 2 vCPUs, 256 MiB, direct kernel boot on ttyS0", () => {
  assert.match(guest, /^<domain type='qemu'>/);
  assert.match(guest, /<model fallback='forbid'>qemu64<\/model>/);
  assert.match(guest, /<vcpu placement='static'>2<\/vcpu>/);
  assert.match(guest, /<memory unit='MiB'>256<\/memory>/);
  assert.match(guest, /<kernel>\/lab\/image\/vmlinuz<\/kernel>/);
  assert.match(guest, /<initrd>\/lab\/image\/initrd.gz<\/initrd>/);
  assert.match(guest, /<cmdline>console=ttyS0 [^<]*kvmon.hostname=kvmon-lab-1<\/cmdline>/);
});

test("guest XML: devices the monitoring needs", () => {
  assert.match(guest, /<driver name='qemu' type='qcow2' cache='none' io='native'\/>/);
  assert.match(guest, /<target dev='vda' bus='virtio'\/>/);
  assert.match(
    guest,
    /<interface type='ethernet'>\s*<mac address='52:54:00:6b:76:01'\/>\s*<model type='virtio'\/>/,
  );
  assert.match(guest, /<memballoon model='virtio'>\s*<stats period='5'\/>/);
  assert.match(guest, /<channel type='unix'>\s*<target type='virtio' name='org.qemu.guest_agent.0'\/>/);
  assert.match(
    guest,
    /<serial type='pty'>\s*<log file='\/lab\/logs\/kvmon-lab-1.console.log' append='off'\/>/,
  );
  assert.match(guest, /<console type='pty'>\s*<target type='serial' port='0'\/>/);
});

test("both kinds carry the lab marker, and parseDomainXml reads it back", () => {
  const kvm = kvmDomainXml({
    name: "kvmon-lab-kvm",
    imageHash: "abc123",
    bootDisk: "/b.img",
    consoleLog: "/k.log",
  });
  assert.match(kvm, /^<domain type='kvm'>/);
  assert.match(kvm, /<boot dev='hd'\/>/);
  assert.match(kvm, /<source file='\/b.img'\/>/);
  for (const [xml, role] of [
    [guest, "guest"],
    [kvm, "kvm"],
  ] as const) {
    assert.ok(xml.includes(`xmlns:kvmon="${LAB_NS}"`));
    assert.deepEqual(parseDomainXml(xml).lab, { role, image: "abc123" });
  }
});

test("values are escaped", () => {
  assert.equal(xmlEscape(`a<b>&'"`), "a&lt;b&gt;&amp;&apos;&quot;");
  const xml = guestDomainXml({
    name: "kvmon-lab-1",
    imageHash: "h",
    kernel: "/odd'dir/vmlinuz",
    initrd: "/i",
    dataDisk: "/d&d",
    mac: "52:54:00:6b:76:01",
    consoleLog: "/l",
  });
  assert.ok(xml.includes("<kernel>/odd&apos;dir/vmlinuz</kernel>"));
  assert.ok(xml.includes("<source file='/d&amp;d'/>"));
});

// Trimmed `virsh dumpxml` of a running lab guest, as libvirt 9.0 prints it.
const LIVE = `<domain type='qemu' id='3'>
  <name>kvmon-lab-2</name>
  <uuid>0e4e9c4d-53a5-4b7c-9d2e-7c2f5d1c2a11</uuid>
  <title>kvmon lab guest</title>
  <metadata>
    <kvmon:lab xmlns:kvmon="https://kvmon.dev/lab" role="guest" image="357175bd604e7839"/>
  </metadata>
  <memory unit='KiB'>262144</memory>
  <currentMemory unit='KiB'>262144</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <devices>
    <interface type='ethernet'>
      <mac address='52:54:00:6B:76:02'/>
      <target dev='vnet5'/>
      <model type='virtio'/>
      <alias name='net0'/>
    </interface>
    <serial type='pty'>
      <source path='/dev/pts/1'/>
      <target type='isa-serial' port='0'/>
    </serial>
  </devices>
</domain>`;

test("parseDomainXml reads type, vCPUs, memory, MACs and taps from live XML", () => {
  const f = parseDomainXml(LIVE);
  assert.equal(f.type, "qemu");
  assert.equal(f.vcpus, 2);
  assert.equal(f.memoryKiB, 262144);
  assert.deepEqual(f.lab, { role: "guest", image: "357175bd604e7839" });
  assert.deepEqual(f.macs, ["52:54:00:6b:76:02"]);
  assert.deepEqual(f.taps, ["vnet5"]);
});

test("parseDomainXml: no marker, or a marker in another namespace, is not a lab domain", () => {
  assert.equal(parseDomainXml(LIVE.replace(/<metadata>[\s\S]*<\/metadata>/, "")).lab, undefined);
  assert.equal(
    parseDomainXml(LIVE.replace("https://kvmon.dev/lab", "https://example.org/lab")).lab,
    undefined,
  );
  assert.equal(
    parseDomainXml(guest.replace("<memory unit='MiB'>256", "<memory unit='MiB'>512")).memoryKiB,
    524288,
  );
});

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { AuditError } from "./errors.ts";
import { cmdlineDisks, guestName, parseKeyval, qemuBool, splitCmdline } from "./qemu-cmdline.ts";

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url));

test("the lab guest's real command line (libvirt 9.0, QEMU 7.2, JSON -blockdev/-device): vda resolved", () => {
  const args = splitCmdline(fixture("lab-1.cmdline"));
  assert.equal(args[0], "/usr/bin/qemu-system-x86_64");
  assert.ok(!args.includes(""), "no empty trailing argument");
  const disks = cmdlineDisks(args);
  assert.deepEqual([...disks.keys()], ["virtio-disk0"]);
  assert.deepEqual(disks.get("virtio-disk0"), {
    deviceId: "virtio-disk0",
    nodeName: "libvirt-1-format",
    filename: "/var/lib/kvmon/lab/guests/kvmon-lab-1.qcow2",
    format: "qcow2",
    aio: "native",
    cache: { writeback: true, direct: true, noFlush: false },
    readOnly: false,
    discard: "unmap",
  });
});

test("the guest name libvirt passes with -name (',,' is a comma in a name)", () => {
  assert.equal(guestName(splitCmdline(fixture("lab-1.cmdline"))), "kvmon-lab-1");
  assert.equal(guestName(["qemu", "-name", "guest=a,,b,debug-threads=on"]), "a,b");
  assert.equal(guestName(["qemu", "-name", "plain"]), "plain");
  assert.equal(guestName(["/usr/bin/sleep", "100"]), null);
});

test("key=value syntax: dotted keys, ',,' escapes, the implied driver of -device, on/off booleans", () => {
  assert.deepEqual(parseKeyval("virtio-blk-pci,drive=d0,id=disk0", "driver"), {
    driver: "virtio-blk-pci",
    drive: "d0",
    id: "disk0",
  });
  assert.deepEqual(parseKeyval("filename=/a,,b.img,cache.direct=on,cache.no-flush=off"), {
    filename: "/a,b.img",
    cache: { direct: "on", "no-flush": "off" },
  });
  const disks = cmdlineDisks([
    "-blockdev",
    "driver=file,filename=/img/a.raw,node-name=proto,cache.direct=off,cache.no-flush=on",
    "-blockdev",
    "driver=raw,node-name=fmt,file=proto,read-only=on",
    "-device",
    "virtio-blk-pci,drive=fmt,id=disk9,write-cache=off",
  ]);
  assert.deepEqual(disks.get("disk9"), {
    deviceId: "disk9",
    nodeName: "fmt",
    filename: "/img/a.raw",
    format: "raw",
    aio: "threads",
    cache: { writeback: false, direct: false, noFlush: true },
    readOnly: true,
    discard: null,
  });
});

test("filters above the format node are skipped; a protocol node used directly is raw; write-cache absent is on", () => {
  const disks = cmdlineDisks([
    "-blockdev",
    '{"driver":"file","filename":"/i/q.qcow2","node-name":"s","aio":"io_uring"}',
    "-blockdev",
    '{"driver":"qcow2","node-name":"f","file":"s"}',
    "-blockdev",
    '{"driver":"throttle","node-name":"t","file":"f","throttle-group":"g"}',
    "-device",
    '{"driver":"virtio-blk-pci","drive":"t","id":"d1"}',
    "-blockdev",
    '{"driver":"host_device","filename":"/dev/sdz","node-name":"b","cache":{"direct":true}}',
    "-device",
    '{"driver":"scsi-hd","drive":"b","id":"d2","write-cache":"on"}',
    "-device",
    '{"driver":"virtio-net-pci","id":"net0"}',
  ]);
  assert.equal(disks.get("d1")?.format, "qcow2");
  assert.equal(disks.get("d1")?.aio, "io_uring");
  assert.deepEqual(disks.get("d1")?.cache, { writeback: true, direct: false, noFlush: false });
  assert.equal(disks.get("d2")?.format, "raw");
  assert.deepEqual(disks.get("d2")?.cache, { writeback: true, direct: true, noFlush: false });
  assert.equal(disks.has("net0"), false);
});

test("a device whose drive is not on the command line is left out; broken JSON is an AuditError", () => {
  assert.equal(cmdlineDisks(["-device", '{"driver":"virtio-blk-pci","drive":"gone","id":"x"}']).size, 0);
  assert.throws(
    () => cmdlineDisks(["-blockdev", '{"driver":"file",']),
    (e) => e instanceof AuditError && e.code === "AUDIT_CMDLINE",
  );
});

test("qemuBool reads JSON and key=value booleans, anything else is unknown", () => {
  assert.deepEqual(
    [true, false, "on", "off", "yes", "no", "true", "false", "auto", undefined].map(qemuBool),
    [true, false, true, false, true, false, true, false, null, null],
  );
});

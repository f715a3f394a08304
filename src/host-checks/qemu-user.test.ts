import assert from "node:assert/strict";
import { test } from "node:test";
import { qemuConfIdentity, resolveQemuIdentity } from "./qemu-user.ts";

const passwd =
  "root:x:0:0::/root:/bin/sh\nlibvirt-qemu:x:64055:107:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin\n";
const group = "root:x:0:\nkvm:x:107:\nlibvirt-qemu:x:64055:libvirt-qemu\ndisk:x:6:libvirt-qemu\n";

test("qemu.conf: commented settings are ignored, Debian's defaults apply", () => {
  assert.deepEqual(qemuConfIdentity('#user = "qemu"\n#group = "qemu"\n'), {
    user: "libvirt-qemu",
    group: "libvirt-qemu",
  });
  assert.deepEqual(qemuConfIdentity('  user = "+0"\ngroup="kvm"\n'), { user: "+0", group: "kvm" });
});

test("QEMU holds the configured gid, the user's primary group and every group listing the user", () => {
  // What a lab guest's QEMU shows in /proc/PID/status: Uid 64055, Gid 64055, Groups: 107 64055 (+ disk here).
  assert.deepEqual(resolveQemuIdentity("", passwd, group), {
    user: "libvirt-qemu",
    uid: 64055,
    gid: 64055,
    groups: [6, 107, 64055],
  });
});

test("numeric ids (+N) resolve without passwd entries; an unknown user is undefined", () => {
  assert.deepEqual(resolveQemuIdentity('user = "+0"\ngroup = "+0"\n', "", ""), {
    user: "+0",
    uid: 0,
    gid: 0,
    groups: [0],
  });
  assert.equal(resolveQemuIdentity('user = "qemu"\n', passwd, group), undefined);
});

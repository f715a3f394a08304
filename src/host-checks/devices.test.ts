import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { checkHost } from "./check-host.ts";
import { canReadWrite, checkKvmDevice, formatHostProblem } from "./devices.ts";

const qemu = { uid: 64055, groups: [107, 64055] };

test("canReadWrite follows the POSIX classes: owner, then group, then other", () => {
  assert.equal(canReadWrite({ uid: 0, gid: 0, mode: 0o600 }, qemu), false, "root:root 0600");
  assert.equal(canReadWrite({ uid: 0, gid: 107, mode: 0o660 }, qemu), true, "root:kvm 0660");
  assert.equal(canReadWrite({ uid: 0, gid: 107, mode: 0o640 }, qemu), false, "group read-only");
  assert.equal(canReadWrite({ uid: 0, gid: 0, mode: 0o666 }, qemu), true, "world rw");
  // The owner class applies first even when "other" would allow more.
  assert.equal(canReadWrite({ uid: 64055, gid: 0, mode: 0o066 }, qemu), false, "owner denied");
  assert.equal(canReadWrite({ uid: 0, gid: 0, mode: 0o600 }, { uid: 0, groups: [] }), true, "root");
});

/** A fake /etc with Debian's libvirt-qemu user (primary group kvm) and a node standing in for /dev/kvm. */
async function fakeHost(t: { after: (fn: () => Promise<void>) => void }, mode: number) {
  const root = await mkdtemp(join(tmpdir(), "kvmon-hostcheck-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, "etc/libvirt"), { recursive: true });
  await writeFile(
    join(root, "etc/passwd"),
    "root:x:0:0::/root:/bin/sh\nlibvirt-qemu:x:64055:107::/:/bin/false\n",
  );
  await writeFile(join(root, "etc/group"), "root:x:0:\nkvm:x:107:\nlibvirt-qemu:x:64055:libvirt-qemu\n");
  await writeFile(join(root, "etc/libvirt/qemu.conf"), '#user = "nobody"\n');
  const kvm = join(root, "kvm");
  await writeFile(kvm, "");
  await chmod(kvm, mode);
  return { etcRoot: root, kvmDevice: kvm, tunDevice: join(root, "tun") };
}

test("a /dev/kvm that QEMU's user cannot open is named with its fix; a missing tun device and tracefs too", async (t) => {
  // The file is owned by the test's user (root in CI), group root: mode 0600 keeps libvirt-qemu out.
  const opts = await fakeHost(t, 0o600);
  const procMounts = join(opts.etcRoot, "mounts");
  await writeFile(procMounts, "sysfs /sys sysfs rw 0 0\n");
  const problems = await checkHost({ ...opts, procMounts });
  assert.deepEqual(
    problems.map((p) => p.code),
    ["HOST_KVM_DEVICE_PERMISSIONS", "HOST_TUN_DEVICE_MISSING", "HOST_TRACEFS_NOT_MOUNTED"],
  );
  const line = formatHostProblem(problems[0]!);
  assert.match(line, /cannot be opened by QEMU's user libvirt-qemu \(uid 64055\)/);
  assert.match(line, /fix: chgrp kvm .* && chmod 0660 /);
  assert.equal(line.split("\n").length, 1, "one line");
});

test("a usable /dev/kvm, an absent one, or no libvirt user yet is no problem", async (t) => {
  assert.equal(await checkKvmDevice(await fakeHost(t, 0o666)), undefined, "world rw");
  const opts = await fakeHost(t, 0o600);
  assert.equal(await checkKvmDevice({ ...opts, kvmDevice: join(opts.etcRoot, "none") }), undefined, "absent");
  await writeFile(join(opts.etcRoot, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  assert.equal(await checkKvmDevice(opts), undefined, "libvirt not installed");
});

test("the fix says to add the user to kvm when QEMU's user is not in that group", async (t) => {
  const opts = await fakeHost(t, 0o600);
  await writeFile(join(opts.etcRoot, "etc/libvirt/qemu.conf"), 'user = "qemu"\ngroup = "qemu"\n');
  await writeFile(join(opts.etcRoot, "etc/passwd"), "qemu:x:500:500::/:/bin/false\n");
  await writeFile(join(opts.etcRoot, "etc/group"), "kvm:x:107:\nqemu:x:500:\n");
  const p = await checkKvmDevice(opts);
  assert.match(p!.fix, /^add qemu to a group .* 'usermod -aG kvm qemu'/);
});

test("tracefs counts as mounted in its own place or debugfs's", async (t) => {
  const opts = await fakeHost(t, 0o666);
  const procMounts = join(opts.etcRoot, "mounts");
  await writeFile(procMounts, "tracefs /sys/kernel/debug/tracing tracefs rw,nosuid 0 0\n");
  assert.deepEqual(await checkHost({ ...opts, tunDevice: opts.kvmDevice, procMounts }), []);
});

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { inittab, loadTool, qemuGaRunner, rcS } from "./guest-files.ts";

const modules = ["virtio_ring", "virtio", "virtio_pci", "virtio_console", "ext4"];

test("rcS loads modules in the given order and links virtio ports before qemu-ga needs them", () => {
  const s = rcS(modules);
  assert.ok(s.includes(`for m in ${modules.join(" ")}; do`));
  assert.ok(s.indexOf("insmod") < s.indexOf("/dev/virtio-ports"));
  assert.match(s, /mount -t ext4 -o noatime \/dev\/vda \/mnt\/data/);
  assert.doesNotMatch(s, /udhcpc|ifconfig .* inet|ip addr add/, "no IPv4 configuration in the guest");
});

test("inittab runs setup, keeps qemu-ga and a ttyS0 shell alive", () => {
  const t = inittab();
  assert.match(t, /^::sysinit:\/etc\/init.d\/rcS$/m);
  assert.match(t, /^::respawn:\/etc\/init.d\/qemu-ga$/m);
  assert.match(t, /^ttyS0::respawn:-\/bin\/sh$/m);
  assert.match(
    qemuGaRunner(),
    /qemu-ga -m virtio-serial -p \/dev\/virtio-ports\/org.qemu.guest_agent.0 -f \/run\/qemu-ga.pid -t \/run/,
  );
});

test("kvmon-load bounds every loop (timeout, count, deadline)", () => {
  const s = loadTool();
  assert.match(s, /setsid timeout "\$secs"/);
  assert.match(s, /timeout 600 dd if=\/dev\/zero/);
  assert.match(s, /ping6 -q -A -I eth0 -c "\$2" -s "\$3" -w "\$4"/);
});

// The scripts run under busybox sh in the guest: check their syntax with the host's busybox.
test(
  "guest scripts parse with busybox sh -n",
  {
    skip: !existsSync("/bin/busybox") && "no /bin/busybox",
  },
  () => {
    for (const script of [rcS(modules), qemuGaRunner(), loadTool()]) {
      execFileSync("/bin/busybox", ["sh", "-n"], { input: script });
    }
    assert.throws(() =>
      execFileSync("/bin/busybox", ["sh", "-n"], { input: "if true; then\n", stdio: "pipe" }),
    );
  },
);

/** Output parsers of host tools and guest programs (ldd, busybox, dpkg-query, apt-cache, dd, ping). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { lastLines } from "./console-log.ts";
import { parseInstalled } from "./host.ts";
import { parseApplets, parseLdd } from "./initramfs.ts";
import { parseKernelDepends, pickCachedDeb } from "./kernel.ts";
import { formatElapsed } from "./progress.ts";
import { validateBurst } from "./rawnet.ts";
import { isLinkLocalIpv6, parseDd, parsePingSummary } from "./workload.ts";

test("parseLdd: libraries and the loader, not the vdso", () => {
  const out = `\tlinux-vdso.so.1 (0x00007ffd)
\tlibglib-2.0.so.0 => /lib/x86_64-linux-gnu/libglib-2.0.so.0 (0x00007fe2)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007fe1)
\t/lib64/ld-linux-x86-64.so.2 (0x00007fe3)
`;
  assert.deepEqual(parseLdd(out), [
    "/lib/x86_64-linux-gnu/libglib-2.0.so.0",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib64/ld-linux-x86-64.so.2",
  ]);
  assert.throws(() => parseLdd("\tlibfoo.so.1 => not found\n"), /missing library/);
});

test("parseApplets drops busybox itself and leading slashes", () => {
  assert.deepEqual(parseApplets("bin/busybox\nbin/ls\n/sbin/init\n\nusr/bin/[\n"), [
    "bin/ls",
    "sbin/init",
    "usr/bin/[",
  ]);
});

test("parseInstalled keeps only fully installed packages", () => {
  const out = "qemu-utils ii \nlibvirt-clients rc \nbusybox-static ii \nqemu-guest-agent:amd64 ii \n";
  assert.deepEqual([...parseInstalled(out)].sort(), ["busybox-static", "qemu-guest-agent", "qemu-utils"]);
});

test("kernel package: from apt-cache depends, and the newest cached .deb", () => {
  assert.equal(
    parseKernelDepends("linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n"),
    "linux-image-6.1.0-56-amd64",
  );
  assert.equal(parseKernelDepends("linux-image-amd64\n  Depends: linux-image-6.12.1-amd64\n"), undefined);
  assert.equal(
    pickCachedDeb([
      "linux-image-6.1.0-9-amd64_6.1.27-1_amd64.deb",
      "linux-image-6.1.0-56-amd64_6.1.192-2_amd64.deb",
      "linux-image-6.1.0-56-cloud-amd64_6.1.192-2_amd64.deb",
      "notes.txt",
    ]),
    "linux-image-6.1.0-56-amd64_6.1.192-2_amd64.deb",
  );
});

test("parseDd: full records x 1 MiB and kvmon-load's own timing", () => {
  assert.deepEqual(parseDd("8+0 records in\n8+0 records out\nkvmon-load: seconds 0.18\n"), {
    bytes: 8 * 1024 * 1024,
    seconds: 0.18,
  });
  assert.throws(() => parseDd("dd: can't open '/mnt/data/x': No space left on device\n"), /no dd summary/);
});

test("parsePingSummary and the link-local guard", () => {
  const out =
    "PING fe80::1 (fe80::1): 56 data bytes\n\n--- fe80::1 ping statistics ---\n20 packets transmitted, 19 packets received, 5% packet loss\n";
  assert.deepEqual(parsePingSummary(out), { sent: 20, received: 19 });
  assert.ok(isLinkLocalIpv6("fe80::fc54:ff:fe6b:7601"));
  assert.ok(isLinkLocalIpv6("ff02::1"));
  for (const bad of ["10.0.0.1", "192.168.1.1", "2001:db8::1", "::ffff:10.0.0.1", "fc00::1"]) {
    assert.equal(isLinkLocalIpv6(bad), false, bad);
  }
});

test("validateBurst bounds raw frame bursts", () => {
  const ok = { tap: "vnet0", dstMac: "52:54:00:6b:76:01", frames: 100, size: 1000, seconds: 5 };
  validateBurst(ok);
  assert.throws(() => validateBurst({ ...ok, frames: 0 }), /frames/);
  assert.throws(() => validateBurst({ ...ok, size: 9000 }), /size/);
  assert.throws(() => validateBurst({ ...ok, seconds: 0 }), /seconds/);
  assert.throws(() => validateBurst({ ...ok, tap: "vnet0; rm -rf /" }), /tap/);
});

test("console tail strips control sequences; progress shows elapsed seconds", () => {
  assert.equal(lastLines("a\r\nb\x1b[6n\r\n\r\nc\x07\n", 2), "b\nc");
  assert.equal(formatElapsed(12345), "[  12.3s]");
});

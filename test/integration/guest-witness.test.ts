/**
 * The guest view follows changes made inside a lab guest, each checked against what the guest itself says
 * (guest-exec of df, date, /proc/stat, ip addr): a file written moves the filesystem's used bytes by its size,
 * the clock set ahead shows as drift, a CPU burn shows in the in-guest CPU shares, an added address appears.
 * Every change is undone afterwards, also when an assertion fails.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { burnCpu, stopWorkload } from "../../src/lab/workload.ts";
import type { GuestSample } from "../../src/model/types.ts";
import { GUEST_URI, guestSh, type LabGuestView, openLabGuestView } from "../guest-helpers.ts";
import { labGuests } from "../lab.ts";
import { virsh } from "../libvirt-helpers.ts";

const guest = labGuests[0]!;
const MiB = 1024 * 1024;
let view: LabGuestView;

before(async () => {
  view = await openLabGuestView(guest);
});

after(async () => {
  await view.close();
});

/** The data disk's used bytes as the guest's df says (1K blocks: statvfs blocks - bfree, as qemu-ga's). */
async function dfUsedBytes(): Promise<number> {
  const line = (await guestSh(guest, "df -k /mnt/data")).trim().split("\n").at(-1)!;
  return Number(line.trim().split(/\s+/)[2]) * 1024;
}

function dataFs(g: GuestSample) {
  const fs = g.filesystems?.find((f) => f.mountpoint === "/mnt/data");
  assert.ok(fs, `no /mnt/data in ${JSON.stringify(g.filesystems)} (${g.agent.lastError})`);
  return fs;
}

test("an 8 MiB file written in the guest moves /mnt/data's used bytes by its size, as df says", async () => {
  const file = "/mnt/data/kvmon-guest-witness.bin";
  const before = dataFs(await view.fresh()).usedBytes!;
  assert.equal(before, await dfUsedBytes(), "view = df before");
  try {
    await guestSh(guest, `dd if=/dev/zero of=${file} bs=1M count=8 conv=fsync 2>/dev/null && sync`);
    const used = dataFs(await view.fresh()).usedBytes!;
    assert.equal(used, await dfUsedBytes(), "view = df with the file");
    // ext4 may add a block or two of metadata beside the file's own 8 MiB.
    assert.ok(used - before >= 8 * MiB && used - before <= 8 * MiB + 64 * 1024, `grew by ${used - before}`);
  } finally {
    await guestSh(guest, `rm -f ${file} && sync`);
  }
  const afterRm = dataFs(await view.fresh()).usedBytes!;
  assert.equal(afterRm, await dfUsedBytes(), "view = df after removal");
  assert.ok(Math.abs(afterRm - before) <= 64 * 1024, `back to ${afterRm} from ${before}`);
});

/** Guest clock minus host clock as the guest's `date +%s` says (whole seconds, so within a second). */
async function witnessDriftSeconds(): Promise<number> {
  const t0 = Date.now();
  const guestSeconds = Number((await guestSh(guest, "date +%s")).trim());
  return guestSeconds + 0.5 - (t0 + Date.now()) / 2000;
}

test("the guest clock set 120 s ahead shows as drift of 120 s, and back after it is restored", async () => {
  const base = (await view.fresh()).clock!.driftSeconds;
  assert.ok(Math.abs(base) < 5, `drift before: ${base}`);
  try {
    await guestSh(guest, "date -s @$(( $(date +%s) + 120 )) >/dev/null");
    const drift = (await view.fresh()).clock!.driftSeconds;
    const witness = await witnessDriftSeconds();
    assert.ok(Math.abs(drift - witness) < 2, `view ${drift} s vs the guest's date ${witness} s`);
    assert.ok(Math.abs(drift - base - 120) < 2, `drift ${drift} s, ${base} s before`);
  } finally {
    // Back to the host's clock to the nanosecond (date -s has whole seconds only).
    const ns = BigInt(Date.now()) * 1_000_000n;
    await virsh(
      GUEST_URI,
      "qemu-agent-command",
      guest,
      `{"execute":"guest-set-time","arguments":{"time":${ns}}}`,
    );
  }
  const restored = (await view.fresh()).clock!.driftSeconds;
  assert.ok(Math.abs(restored) < 1, `drift after restoring: ${restored}`);
});

/** Busy (not idle, iowait or steal) share of all the guest's CPU time between two /proc/stat reads. */
function busyShare(before: string, after: string): number {
  const ticks = (s: string) => /^cpu (.*)$/m.exec(s)![1]!.trim().split(/\s+/).slice(0, 8).map(Number);
  const [a, b] = [ticks(before), ticks(after)];
  const d = b.map((v, i) => v - a[i]!);
  const total = d.reduce((s, v) => s + v, 0);
  return (total - d[3]! - d[4]! - d[7]!) / total;
}

/** The view's busy share over a window of about `ms`, beside the guest's /proc/stat over the same window. */
async function cpuWindow(ms: number): Promise<{ view: number; witness: number }> {
  await view.fresh();
  const s0 = await guestSh(guest, "cat /proc/stat");
  await sleep(ms);
  const s1 = await guestSh(guest, "cat /proc/stat");
  const cpu = (await view.fresh()).cpu!;
  assert.equal(cpu.source, "cpustats");
  const share = 1 - cpu.idle! - cpu.iowait! - cpu.steal!;
  return { view: share, witness: busyShare(s0, s1) };
}

test("one busy loop on the guest's two vCPUs shows as about half its CPU time busy", async () => {
  const idle = await cpuWindow(3000);
  assert.ok(idle.view < 0.3, `idle guest busy ${idle.view}`);
  await burnCpu(guest, 1, { seconds: 60, tag: "guest-witness" });
  try {
    await sleep(1000);
    const busy = await cpuWindow(4000);
    console.log(`# busy share: view ${busy.view.toFixed(3)}, /proc/stat ${busy.witness.toFixed(3)}`);
    assert.ok(Math.abs(busy.view - 0.5) < 0.15, `view busy ${busy.view} (one of two vCPUs)`);
    assert.ok(Math.abs(busy.view - busy.witness) < 0.15, `view ${busy.view} vs /proc/stat ${busy.witness}`);
  } finally {
    await stopWorkload(guest, { tag: "guest-witness" });
  }
});

const hasAddress = (g: GuestSample, address: string) =>
  g.interfaces
    ?.find((i) => i.name === "eth0")
    ?.addresses.some((a) => a.address === address && a.prefix === 64);

test("an address added in the guest appears on its interface, as ip addr says, and goes when removed", async () => {
  const addr = "fd00::1234";
  assert.equal(hasAddress(await view.fresh(), addr), false);
  try {
    await guestSh(guest, `ip addr add ${addr}/64 dev eth0`);
    assert.match(await guestSh(guest, "ip -6 addr show dev eth0"), new RegExp(`inet6 ${addr}/64`));
    const g = await view.fresh();
    assert.equal(hasAddress(g, addr), true, JSON.stringify(g.interfaces));
    assert.equal(
      g.interfaces?.find((i) => i.name === "eth0")?.addresses.find((a) => a.address === addr)?.type,
      "ipv6",
    );
  } finally {
    await guestSh(guest, `ip addr del ${addr}/64 dev eth0`);
  }
  assert.equal(hasAddress(await view.fresh(), addr), false);
});

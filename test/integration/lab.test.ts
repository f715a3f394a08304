/**
 * The lab against an independent witness: `virsh` run directly here (not through src/lab/virsh.ts) checks
 * that the guests run, their agents answer, and that each workload shows up in libvirt's own statistics.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { run } from "../../src/cli/main.ts";
import { labPaths } from "../../src/lab/config.ts";
import { consoleLogPath } from "../../src/lab/console-log.ts";
import {
  burnCpu,
  cpuWorkers,
  guestExec,
  readDisk,
  sendNetwork,
  stopWorkload,
  writeDisk,
} from "../../src/lab/workload.ts";
import { kvmGuest, kvmSkipReason, labGuests, withKvmGuest } from "../lab.ts";

const exec = promisify(execFile);

/**
 * virsh as the witness. Other test runs on this host restart libvirtd on purpose, so a read that finds the
 * daemon gone is retried for up to 20 s (reads only: nothing here changes libvirt state through virsh).
 */
async function virsh(...args: string[]): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return (await exec("virsh", ["-q", "-c", "qemu:///system", ...args], { timeout: 60_000 })).stdout;
    } catch (error) {
      const lost = /Failed to connect socket|Disconnected from|End of file while reading/.test(String(error));
      if (!lost || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function agent(domain: string, command: object): Promise<unknown> {
  const out = await virsh("qemu-agent-command", domain, JSON.stringify(command), "--timeout", "10");
  return (JSON.parse(out) as { return: unknown }).return;
}

/** One `virsh domstats` record as field -> number (string fields dropped). */
async function domstats(domain: string, ...groups: string[]): Promise<Map<string, number>> {
  const out = await virsh("domstats", ...groups, domain);
  const stats = new Map<string, number>();
  for (const m of out.matchAll(/^\s*([\w.-]+)=(-?\d+)$/gm)) stats.set(m[1]!, Number(m[2]));
  return stats;
}

function stat(stats: Map<string, number>, field: string): number {
  const v = stats.get(field);
  assert.ok(v !== undefined, `domstats has no ${field}`);
  return v;
}

/** cpu.time growth in seconds per second over `ms`. */
async function cpuRate(domain: string, ms: number): Promise<number> {
  const a = stat(await domstats(domain, "--cpu-total"), "cpu.time");
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const b = stat(await domstats(domain, "--cpu-total"), "cpu.time");
  return (b - a) / 1e9 / ((performance.now() - t0) / 1000);
}

const [first, second] = labGuests as [string, string];

/**
 * A lab guest nobody is loading right now, and its idle cpu.time rate. Test runs of other sessions on this
 * host share the lab and burn CPU in its guests too, so wait (bounded) for one to be quiet.
 */
async function idleGuest(timeoutMs = 90_000): Promise<{ name: string; idle: number }> {
  const deadline = Date.now() + timeoutMs;
  let seen = "";
  while (Date.now() < deadline) {
    const rates = await Promise.all(labGuests.map(async (g) => [g, await cpuRate(g, 1500)] as const));
    const quiet = rates.find(([, rate]) => rate < 0.3);
    if (quiet) return { name: quiet[0], idle: quiet[1] };
    seen = rates.map(([g, rate]) => `${g} ${rate.toFixed(2)} s/s`).join(", ");
  }
  assert.fail(`no idle lab guest within ${timeoutMs / 1000} s (${seen}): something else keeps loading them`);
}

describe("lab guests", () => {
  test("run as TCG domains in libvirt", async () => {
    const names = (await virsh("list", "--name")).split("\n").map((l) => l.trim());
    for (const name of labGuests) {
      assert.ok(names.includes(name), `${name} in virsh list`);
      assert.equal((await virsh("domstate", name)).trim(), "running");
      assert.match(await virsh("dumpxml", name), /^<domain type='qemu'/);
    }
  });

  test("agents answer guest-ping and report their own host name", async () => {
    for (const name of labGuests) {
      assert.deepEqual(await agent(name, { execute: "guest-ping" }), {});
      assert.deepEqual(await agent(name, { execute: "guest-get-host-name" }), { "host-name": name });
    }
  });

  test("the ext4 data disk is mounted, so guest-get-fsinfo reports real usage", async () => {
    const fs = (await agent(first, { execute: "guest-get-fsinfo" })) as {
      mountpoint: string;
      type: string;
      "total-bytes": number;
      "used-bytes": number;
    }[];
    const data = fs.find((f) => f.mountpoint === "/mnt/data");
    assert.ok(data, `no /mnt/data in ${JSON.stringify(fs)}`);
    assert.equal(data.type, "ext4");
    assert.ok(data["total-bytes"] > 40 * 1024 * 1024, `total ${data["total-bytes"]}`);
  });

  test("the serial console has a shell prompt", async () => {
    const log = await readFile(consoleLogPath(labPaths().logs, second), "utf8");
    assert.ok(log.includes(`${second}:/# `), "prompt on ttyS0");
  });

  test("kvmon lab status shows them running with answering agents", async () => {
    let out = "";
    const code = await run(["lab", "status"], { out: (t) => (out += t), err: () => {} });
    assert.equal(code, 0);
    for (const name of labGuests) {
      assert.match(out, new RegExp(`^${name}\\s+running\\s+qemu\\s+2\\s+256 MiB\\s+ok \\d+ ms$`, "m"));
    }
  });

  test("guestExec returns exit code, stdout and stderr", async () => {
    const r = await guestExec(first, ["/bin/sh", "-c", "echo out; echo err >&2; exit 7"]);
    assert.deepEqual(r, { exitcode: 7, stdout: "out\n", stderr: "err\n" });
  });
});

describe("workloads show in libvirt's statistics", () => {
  test("cpu burn: cpu.time grows about 1 s per second, and stops growing after stopWorkload", async () => {
    const { name, idle } = await idleGuest();
    const tag = `lab-test-${process.pid}`;
    await burnCpu(name, 1, { seconds: 60, tag });
    try {
      assert.equal(await cpuWorkers(name, { tag }), 1);
      await new Promise((r) => setTimeout(r, 500));
      const busy = await cpuRate(name, 4000);
      const added = busy - idle;
      // About 1 s/s on a quiet host; other test runs sharing this 2-core host (and a running KVM guest, which
      // keeps a core busy) can take a share of the core, hence the lower bound of 0.5.
      const load = (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ");
      assert.ok(
        added > 0.5 && added < 1.6,
        `${name}: idle ${idle.toFixed(2)} s/s, burning ${busy.toFixed(2)} s/s (host load ${load})`,
      );
    } finally {
      await stopWorkload(name, { tag });
    }
    assert.equal(await cpuWorkers(name, { tag }), 0);
    const after = await cpuRate(name, 2000);
    assert.ok(
      after < idle + 0.5,
      `${name}: after stop ${after.toFixed(2)} s/s (idle was ${idle.toFixed(2)})`,
    );
  });

  test("disk write and read: block.0 byte counters grow by at least the amount", async () => {
    const mib = 8;
    const before = await domstats(first, "--block");
    const w = await writeDisk(first, mib);
    assert.equal(w.bytes, mib * 1024 * 1024);
    const mid = await domstats(first, "--block");
    assert.ok(stat(mid, "block.0.wr.bytes") - stat(before, "block.0.wr.bytes") >= w.bytes);
    assert.ok(stat(mid, "block.0.fl.reqs") > stat(before, "block.0.fl.reqs"), "fsync reached the disk");
    const r = await readDisk(first, mib);
    const after = await domstats(first, "--block");
    assert.ok(stat(after, "block.0.rd.bytes") - stat(mid, "block.0.rd.bytes") >= r.bytes);
  });

  test("network in: raw frames on the tap arrive in the guest", async () => {
    const rx = async () => Number((await guestExec(second, ["/usr/bin/kvmon-load", "rx-packets"])).stdout);
    const before = await rx();
    const hostBefore = await domstats(second, "--interface");
    const { sent } = await sendNetwork(second, { direction: "in", packets: 300, size: 200 });
    assert.equal(sent, 300);
    await new Promise((r) => setTimeout(r, 300));
    const got = (await rx()) - before;
    assert.ok(got >= 270, `guest received ${got} of ${sent}`);
    const hostAfter = await domstats(second, "--interface");
    assert.ok(stat(hostAfter, "net.0.rx.pkts") - stat(hostBefore, "net.0.rx.pkts") >= 270);
  });

  test("network out: IPv6 link-local pings from the guest are answered", async () => {
    const before = await domstats(second, "--interface");
    const r = await sendNetwork(second, { direction: "out", packets: 20, seconds: 20 });
    assert.equal(r.sent, 20);
    assert.ok((r.received ?? 0) >= 18, `received ${r.received}`);
    const after = await domstats(second, "--interface");
    assert.ok(stat(after, "net.0.tx.pkts") - stat(before, "net.0.tx.pkts") >= 20);
  });
});

describe("KVM guest", async () => {
  const skip = await kvmSkipReason();
  test("runs the boot sector under KVM while withKvmGuest lasts", { skip }, async () => {
    await withKvmGuest(async (name) => {
      assert.equal(name, kvmGuest);
      assert.equal((await virsh("domstate", name)).trim(), "running");
      assert.match(await virsh("dumpxml", name), /^<domain type='kvm'/);
      // The loop exits to KVM on every `out`: KVM's own per-vCPU counters move.
      const a = await domstats(name, "--vcpu");
      await new Promise((r) => setTimeout(r, 1000));
      const b = await domstats(name, "--vcpu");
      const moved = (f: string) => (b.get(f) ?? 0) - (a.get(f) ?? 0);
      assert.ok(
        moved("vcpu.0.exits.sum") + moved("vcpu.0.insn_emulation.sum") > 1000,
        `exits +${moved("vcpu.0.exits.sum")}, emulated +${moved("vcpu.0.insn_emulation.sum")}`,
      );
      assert.ok((await cpuRate(name, 1000)) > 0.5, "the vCPU is busy");
    });
    assert.equal((await virsh("domstate", kvmGuest)).trim(), "shut off");
  });
});

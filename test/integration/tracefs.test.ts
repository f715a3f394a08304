/**
 * The tracefs layer on this machine's real tracefs (root): a private instance's life cycle, the missing-event
 * error, removal of an instance a dead kvmon left, and on the KVM boot-sector guest: events only from its vCPU
 * threads, and the decoded kvm_emulate_insn count equal (within 1 %) to the delta of KVM's own counter
 * vcpu.0.insn_emulation.sum in `virsh domstats` over the same window. The window is bounded by pausing the
 * guest (virsh suspend), so both counts cover exactly the same guest run time; it starts once the guest runs
 * its boot loop (SeaBIOS before it emulates ~2 M instructions/s, more than a full decode keeps up with).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  findTracefs,
  removeStaleInstances,
  TraceInstance,
  type TraceDecoder,
  type CpuPipe,
  TracefsEventMissingError,
} from "../../src/protocol/tracefs/index.ts";
import { kvmSkipReason, withKvmGuest } from "../lab.ts";
import { virsh } from "../libvirt-helpers.ts";
import { insnEmulation, qemuPid, untilBootLoop, vcpuThreads } from "../tracer-helpers.ts";

const URI = "qemu:///system";

test("a private instance: created under kvmon-<pid>-<name>, events enabled with a pid filter, gone after close", async () => {
  const instance = await TraceInstance.create("life");
  assert.equal(instance.name, `kvmon-${process.pid}-life`);
  assert.ok(existsSync(instance.path));
  await instance.setBufferSizeKb(64);
  const formats = await instance.enableEvents(["kvm:kvm_pio", "kvm:kvm_exit"], [101, 202]);
  assert.deepEqual(
    formats.map((f) => f.name),
    ["kvm_pio", "kvm_exit"],
  );
  const filter = await readFile(join(instance.path, "events/kvm/kvm_pio/filter"), "utf8");
  assert.equal(filter.trim(), "common_pid == 101 || common_pid == 202");
  await assert.rejects(instance.enableEvents(["kvm:kvm_pio", "kvm:kvm_no_such_event"], [1]), (e: unknown) => {
    assert.ok(e instanceof TracefsEventMissingError);
    assert.deepEqual(e.events, ["kvm:kvm_no_such_event"]);
    assert.equal(e.code, "TRACEFS_EVENT_MISSING");
    return true;
  });
  assert.equal(instance.enabled.length, 2, "nothing enabled by a request naming a missing event");
  const pipes = await instance.openPipes((await instance.decoder()).pageSize);
  assert.equal(pipes.length, (await instance.cpus()).length);
  assert.equal(pipes[0]!.read(new Uint8Array(4096)), 0, "an empty pipe answers at once, non-blocking");
  await instance.close();
  assert.ok(!existsSync(instance.path));
  await instance.close();
});

test("an instance left by a dead kvmon pid is removed; a live one is not", async () => {
  const dead = spawnSync("true").pid!;
  const stale = await TraceInstance.create("stale", { pid: dead });
  await stale.enableEvents(["kvm:kvm_pio"], [dead]);
  const live = await TraceInstance.create("live");
  try {
    const removed = await removeStaleInstances();
    assert.ok(removed.includes(`kvmon-${dead}-stale`), `removed: ${removed.join()}`);
    assert.ok(!existsSync(stale.path));
    assert.ok(existsSync(live.path));
  } finally {
    await live.close();
  }
});

/** Drains every pipe into `emit` until `stop` resolves, every 20 ms; then once more. */
async function drainUntil(
  pipes: CpuPipe[],
  decoder: TraceDecoder,
  stop: Promise<void>,
  emit: Parameters<TraceDecoder["decodePage"]>[2],
) {
  const buf = new Uint8Array(decoder.pageSize * 256);
  let missed = 0;
  let errors = 0;
  let done = false;
  void stop.then(() => (done = true));
  for (;;) {
    const last = done;
    for (const pipe of pipes) {
      for (let n = pipe.read(buf); n > 0; n = pipe.read(buf)) {
        for (const page of decoder.decodePages(buf.subarray(0, n), pipe.cpu, emit)) {
          if (page.missedEvents) missed++;
          if (page.error) errors++;
        }
      }
    }
    if (last) return { missed, errors };
    await sleep(20);
  }
}

test(
  "on the KVM guest: only its vCPU threads, and kvm_emulate_insn counted as KVM counts it (within 1 %)",
  { skip: await kvmSkipReason() },
  async () => {
    await findTracefs();
    await withKvmGuest(async (domain) => {
      await untilBootLoop(domain);
      const tids = new Set((await vcpuThreads(await qemuPid(domain))).values());
      assert.ok(tids.size > 0, "vCPU threads named CPU N/KVM");
      const instance = await TraceInstance.create("kvm-window");
      try {
        await instance.setClock("mono");
        await instance.setBufferSizeKb(4096);
        await instance.enableEvents(["kvm:kvm_emulate_insn", "kvm:kvm_pio"], [...tids]);
        const decoder = await instance.decoder();
        const pipes = await instance.openPipes(decoder.pageSize);
        const pids = new Set<number>();
        const times: bigint[] = [];
        let stop!: () => void;
        const stopped = new Promise<void>((r) => (stop = r));
        const drained = drainUntil(pipes, decoder, stopped, (e) => {
          pids.add(e.pid);
          if (e.event === "kvm_emulate_insn") times.push(e.timestamp);
        });
        let before = 0;
        let after = 0;
        let from = 0n;
        let to = 0n;
        try {
          await virsh(URI, "suspend", domain);
          before = await insnEmulation(domain);
          from = process.hrtime.bigint();
          await virsh(URI, "resume", domain);
          await sleep(2000);
          await virsh(URI, "suspend", domain);
          after = await insnEmulation(domain);
          to = process.hrtime.bigint();
        } finally {
          await virsh(URI, "resume", domain);
          await sleep(100);
          stop();
        }
        const { missed, errors } = await drained;
        const lost = await Promise.all(pipes.map(async (p) => (await instance.stats(p.cpu)).overrun));
        assert.deepEqual(
          [missed, errors, lost.reduce((a, b) => a + b, 0)],
          [0, 0, 0],
          "nothing lost or corrupt",
        );
        assert.deepEqual(
          [...pids].filter((p) => !tids.has(p)),
          [],
          "only the vCPU threads",
        );
        const traced = times.filter((t) => t > from && t < to).length;
        const counted = after - before;
        assert.ok(counted > 10_000, `the guest emulated ${counted} instructions in 2 s`);
        const diff = Math.abs(traced - counted) / counted;
        process.stderr.write(
          `kvm_emulate_insn: traced ${traced}, KVM counted ${counted} (${(diff * 100).toFixed(3)} %)\n`,
        );
        assert.ok(diff <= 0.01, `traced ${traced} vs counted ${counted}`);
      } finally {
        await instance.close();
      }
      assert.ok(!existsSync(instance.path), "the instance is gone after close");
    });
  },
);

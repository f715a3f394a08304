/**
 * Live proofs on the lab (real libvirtd, real QEMU guests; test/global-setup.ts brings the lab up): the agent
 * over the project's libvirt client, with collections triggered by hand so each test controls its window.
 * Every value is checked against an independent witness: `virsh domstats` read around the same collection,
 * or the guest's own /proc through its agent. Workloads are bounded (src/lab/workload.ts).
 */
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  domstats,
  labAgent,
  removeOrphanTestDomains,
  removeTestDomain,
  SYSTEM_URI,
  testDomainName,
} from "../agent-helpers.ts";
import { kvmSkipReason, labGuests, withKvmGuest } from "../lab.ts";
import { exec, virsh } from "../libvirt-helpers.ts";
import { collectors } from "../../src/collectors/registry.ts";
import { burnCpu, guestExec, sendNetwork, stopWorkload, writeDisk } from "../../src/lab/workload.ts";
import type { DomainSample } from "../../src/model/types.ts";
import type { Agent } from "../../src/agent/agent.ts";
import { LibvirtSource } from "../../src/agent/libvirt-source.ts";
import { Logger } from "../../src/agent/log.ts";
import { ProcessStartTimes } from "../../src/agent/process-start.ts";

const [first, second] = labGuests as [string, string];

const lines: Record<string, unknown>[] = [];
let agent: Agent;

before(async () => {
  await removeOrphanTestDomains();
  const logger = new Logger((l) => lines.push(JSON.parse(l)), "debug");
  agent = await labAgent(logger, {
    processStarts: new ProcessStartTimes({ procRoot: "/proc", runDir: "/run/libvirt/qemu" }),
  });
  await agent.tick();
});

after(async () => {
  await agent.stop();
});

function domain(name: string): DomainSample {
  const d = agent.snapshot()?.domains.find((x) => x.name === name);
  assert.ok(d, `${name} in the snapshot`);
  return d;
}

/** Problems the agent logged (warn/error), other than metadata of domains that vanished mid-test. */
function problems(): Record<string, unknown>[] {
  return lines.filter((l) => l.level === "warn" || l.level === "error");
}

describe("agent on the lab", () => {
  test("every counter lies between two virsh domstats reads taken around the same collection", async () => {
    const before = await domstats(first, "--raw");
    await agent.tick();
    const afterStats = await domstats(first, "--raw");
    const d = domain(first);
    const between = (what: string, field: string, value: number | undefined, scale = 1) => {
      const lo = before.get(field);
      const hi = afterStats.get(field);
      assert.ok(lo !== undefined && hi !== undefined && value !== undefined, `${what}: ${field} present`);
      assert.ok(
        value * scale >= lo - 1 && value * scale <= hi + 1,
        `${what} ${value * scale} not in [${lo}, ${hi}]`,
      );
    };
    between("cpu.time", "cpu.time", d.cpu!.timeSeconds.total, 1e9);
    between("vcpu.0.time", "vcpu.0.time", d.vcpus!.list[0]!.timeSeconds!.total, 1e9);
    for (const [i, disk] of d.block!.entries()) {
      between(`${disk.name} wr.bytes`, `block.${i}.wr.bytes`, disk.writeBytes!.total);
      between(`${disk.name} rd.reqs`, `block.${i}.rd.reqs`, disk.readRequests!.total);
      assert.equal(disk.capacityBytes, afterStats.get(`block.${i}.capacity`));
    }
    between("net rx.bytes", "net.0.rx.bytes", d.interfaces![0]!.rxBytes!.total);
    between("net tx.pkts", "net.0.tx.pkts", d.interfaces![0]!.txPackets!.total);
    assert.equal(d.memory!.maximumBytes, afterStats.get("balloon.maximum")! * 1024);
    assert.equal(d.memory!.currentBytes, afterStats.get("balloon.current")! * 1024);
    assert.equal(d.stats.status, "ok");
    assert.ok(d.state!.uptimeSeconds! > 0, "uptime from the QEMU process");
    assert.equal(d.metadata?.disks[0]?.target, d.block![0]!.name, "metadata from the cached XML");
  });

  test("a guest burning one vCPU reads about one host CPU; an idle one reads low", async () => {
    await agent.tick();
    await burnCpu(first, 1, { seconds: 30, tag: "agent-test" });
    try {
      await sleep(1000);
      await agent.tick();
      await sleep(5000);
      await agent.tick();
      const busy = domain(first).cpu!.hostCpuRatio!;
      const idle = domain(second).cpu!.hostCpuRatio!;
      console.log(`# burning ${busy.toFixed(3)} host CPUs, idle guest ${idle.toFixed(3)}`);
      assert.ok(busy > 0.9 && busy < 1.25, `burning guest: ${busy.toFixed(3)} host CPUs`);
      assert.ok(idle < 0.25, `idle guest: ${idle.toFixed(3)} host CPUs`);
    } finally {
      await stopWorkload(first, { tag: "agent-test" });
    }
  });

  test("a guest writing N MiB shows about N MiB written, as its own /proc/diskstats says", async () => {
    const mib = 16;
    const sectorsWritten = async () => {
      const r = await guestExec(first, ["/bin/cat", "/proc/diskstats"]);
      const m = new Map<string, number>();
      for (const line of r.stdout.split("\n")) {
        const f = line.trim().split(/\s+/);
        if (f.length > 10) m.set(f[2]!, Number(f[9]));
      }
      return m;
    };
    await agent.tick();
    const g0 = await sectorsWritten();
    const written = await writeDisk(first, mib);
    const g1 = await sectorsWritten();
    await agent.tick();
    const d = domain(first);
    let checked = 0;
    for (const disk of d.block!) {
      const guestBytes = ((g1.get(disk.name) ?? 0) - (g0.get(disk.name) ?? 0)) * 512;
      const delta = disk.writeBytes!.perSecond! * d.elapsedSeconds!;
      if (guestBytes < written.bytes) continue; // not the data disk
      checked++;
      console.log(
        `# ${disk.name}: agent ${delta} B written, guest diskstats ${guestBytes} B, dd ${written.bytes} B`,
      );
      assert.ok(delta >= written.bytes, `agent saw ${delta} B, dd wrote ${written.bytes}`);
      assert.ok(
        Math.abs(delta - guestBytes) <= 0.1 * guestBytes + 65536,
        `agent ${delta} vs guest ${guestBytes}`,
      );
      assert.ok(disk.writeLatencySeconds! > 0);
    }
    assert.equal(checked, 1, "exactly one disk took the write");
  });

  test("frames sent from the host into the guest's tap show as received bytes and packets", async () => {
    await agent.tick();
    const sent = await sendNetwork(first, { direction: "in", packets: 300, size: 1000, seconds: 20 });
    await agent.tick();
    const d = domain(first);
    const nic = d.interfaces![0]!;
    const rxBytes = nic.rxBytes!.perSecond! * d.elapsedSeconds!;
    const rxPackets = nic.rxPackets!.perSecond! * d.elapsedSeconds!;
    assert.ok(
      rxPackets >= sent.sent && rxPackets <= sent.sent + 20,
      `rx packets ${rxPackets}, sent ${sent.sent}`,
    );
    assert.ok(rxBytes >= sent.sent * 1000 && rxBytes <= sent.sent * 1000 + 20 * 1500, `rx bytes ${rxBytes}`);
    assert.ok(nic.mac, "MAC from the cached XML");
  });

  test("a transient VM started, destroyed (so undefined) and one that lives only between collections: no errors, no stale series", async () => {
    const name = testDomainName("transient");
    const xml = `<domain type='qemu'><name>${name}</name><memory unit='MiB'>16</memory><vcpu>1</vcpu>
      <os><type arch='x86_64'>hvm</type></os><devices><memballoon model='none'/></devices></domain>`;
    const dir = await mkdtemp(join(tmpdir(), "kvmon-agent-"));
    const file = join(dir, "domain.xml");
    await writeFile(file, xml);
    await removeTestDomain(name); // left over by an interrupted run
    await agent.tick();
    const before = problems().length;
    try {
      await virsh(SYSTEM_URI, "create", file);
      await agent.tick();
      assert.equal(domain(name).state!.state, "running");
      await virsh(SYSTEM_URI, "destroy", name);
      await agent.tick();
      assert.equal(
        agent.snapshot()!.domains.find((d) => d.name === name),
        undefined,
      );
      const { renderSnapshot } = await import("../../src/agent/exposition.ts");
      assert.doesNotMatch(renderSnapshot(agent.snapshot()!, collectors), new RegExp(name));
      // Born and gone between two collections: never seen, nothing to log.
      await virsh(SYSTEM_URI, "create", file);
      await virsh(SYSTEM_URI, "destroy", name);
      await agent.tick();
      assert.equal(
        agent.snapshot()!.domains.find((d) => d.name === name),
        undefined,
      );
      assert.deepEqual(problems().slice(before), []);
    } finally {
      await removeTestDomain(name);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("SIGSTOP one guest's QEMU: the others keep fresh samples, the stopped one is marked", async (t) => {
    // Our own transient guest (a balloon and a disk, so its stats need QEMU's monitor), not a lab guest.
    const name = testDomainName("stopped");
    const dir = await mkdtemp(join(tmpdir(), "kvmon-agent-"));
    t.after(() => rm(dir, { recursive: true, force: true })); // also when setup fails before the try below
    const disk = join(dir, "disk.qcow2");
    await exec("qemu-img", ["create", "-q", "-f", "qcow2", disk, "16M"]);
    await chmod(dir, 0o755);
    await chmod(disk, 0o666);
    const file = join(dir, "domain.xml");
    await writeFile(
      file,
      `<domain type='qemu'><name>${name}</name><memory unit='MiB'>16</memory><vcpu>1</vcpu>
      <os><type arch='x86_64'>hvm</type></os><devices>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
      <memballoon model='virtio'><stats period='5'/></memballoon></devices></domain>`,
    );
    await removeTestDomain(name); // left over by an interrupted run
    await virsh(SYSTEM_URI, "create", file);
    const pid = Number((await readFile(`/run/libvirt/qemu/${name}.pid`, "utf8")).trim());
    try {
      // Right after start libvirt may still hold a job on the new domain (NOWAIT then skips it): wait it out.
      for (let i = 0; i < 20; i++) {
        await agent.tick();
        if (domain(name).stats.status === "ok") break;
        await sleep(250);
      }
      assert.equal(domain(name).stats.status, "ok");
      process.kill(pid, "SIGSTOP");
      const t0 = performance.now();
      await agent.tick(); // the first call hangs on the stopped QEMU's monitor, times out, is retried with NOWAIT
      await agent.tick(); // the hung call still holds the domain's job: NOWAIT skips it at once
      const took = performance.now() - t0;
      const stopped = domain(name);
      assert.equal(stopped.stats.status, "partial");
      assert.ok(stopped.stats.skippedTotal >= 2);
      for (const g of [first, second]) {
        const d = domain(g);
        // Fresh: taken in this window. (Normally "ok"; "partial" only if someone else holds that guest's job
        // right now, which on a shared lab host can happen: the point is that it was not held up.)
        assert.notEqual(d.stats.status, "missing", `${g} answered`);
        assert.ok(Date.now() - d.sampledAt < took + 1000, `${g} sampled in this window`);
        assert.ok(d.cpu!.timeSeconds.perSecond !== null, `${g} has a CPU rate`);
      }
      assert.ok(took < 5000 * 2 + 2000, `two collections took ${took} ms: one timeout at most`);
      const { renderSnapshot } = await import("../../src/agent/exposition.ts");
      const text = renderSnapshot(agent.snapshot()!, collectors);
      assert.match(
        text,
        new RegExp(`kvmon_domain_stats_skipped\\{domain="${name}",[^}]*reason="partial"\\} 1`),
      );
    } finally {
      process.kill(pid, "SIGCONT");
      await removeTestDomain(name);
      await rm(dir, { recursive: true, force: true });
    }
    await agent.tick();
    assert.equal(
      agent.snapshot()!.domains.find((d) => d.name === name),
      undefined,
    );
  });

  test("the KVM guest: KVM exit counters while it runs, no runtime series once stopped, no errors", async (t) => {
    const skip = await kvmSkipReason();
    if (skip) return t.skip(skip);
    await agent.tick();
    const before = problems().length;
    let kvmName = "";
    await withKvmGuest(async (name) => {
      kvmName = name;
      await agent.tick();
      await sleep(2000);
      await agent.tick();
      const d = domain(name);
      assert.equal(d.state!.state, "running", `${JSON.stringify(d.stats)} ${agent.status.lastError}`);
      assert.ok(d.kvm, "KVM counters for a KVM domain");
      assert.ok(d.kvm.totals.exits!.perSecond! > 0, "exits per second");
    });
    await agent.tick();
    const gone = agent.snapshot()!.domains.find((x) => x.name === kvmName);
    if (gone) {
      assert.equal(gone.state!.state, "shutoff");
      assert.equal(gone.cpu, null);
      assert.equal(gone.kvm, null);
    }
    assert.deepEqual(problems().slice(before), []);
  });
});

describe("a real Prometheus scrapes the agent", () => {
  test("PromQL rate of the CPU counter agrees with the agent's own CPU %; live /metrics passes promtool", async () => {
    const { startAgent } = await import("../../src/agent/server.ts");
    const { loadConfig } = await import("../../src/agent/config.ts");
    const { spawn } = await import("node:child_process");
    const { createServer } = await import("node:net");
    const config = loadConfig({ flags: { listen: "127.0.0.1:0", interval: "1" }, env: {} });
    const source = new LibvirtSource({
      uri: config.uri,
      readOnly: true,
      callTimeoutMs: 800,
      connectTimeoutMs: 5000,
    });
    const running = await startAgent(config, source, () => {});
    const dir = await mkdtemp(join(tmpdir(), "kvmon-prom-"));
    // A free port for Prometheus itself.
    const promPort = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const port = (srv.address() as { port: number }).port;
        srv.close(() => resolve(port));
      });
    });
    await writeFile(
      join(dir, "prometheus.yml"),
      `global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: kvmon
    static_configs: [{targets: ["127.0.0.1:${running.address.port}"]}]
`,
    );
    const prom = spawn(
      "prometheus",
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: "ignore" },
    );
    const query = async (q: string): Promise<number | undefined> => {
      const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`, {
        signal: AbortSignal.timeout(5000),
      });
      const body = (await r.json()) as { data: { result: { value: [number, string] }[] } };
      const v = body.data.result[0]?.value[1];
      return v === undefined ? undefined : Number(v);
    };
    await burnCpu(first, 1, { seconds: 40, tag: "agent-test" });
    try {
      // Let the burn settle and Prometheus collect ~15 scrapes.
      await sleep(16_000);
      const sel = `{domain="${first}"}`;
      const promRate = await query(`rate(kvmon_domain_cpu_seconds_total${sel}[10s])`);
      const agentRatio = await query(`avg_over_time(kvmon_domain_cpu_usage_ratio${sel}[10s])`);
      console.log(`# PromQL rate ${promRate?.toFixed(3)}, agent's own ratio ${agentRatio?.toFixed(3)}`);
      assert.ok(promRate !== undefined && agentRatio !== undefined, "both series in Prometheus");
      assert.ok(Math.abs(promRate - agentRatio) < 0.1, `PromQL ${promRate} vs agent ${agentRatio}`);
      assert.ok(promRate > 0.8, `burning guest at ${promRate} CPUs`);
      const up = await query(`up{job="kvmon"}`);
      assert.equal(up, 1);
      const text = await (await fetch(`http://127.0.0.1:${running.address.port}/metrics`)).text();
      const { spawnSync } = await import("node:child_process");
      const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      assert.equal(`${lint.stdout}${lint.stderr}`.trim(), "", "promtool on the live /metrics");
    } finally {
      await stopWorkload(first, { tag: "agent-test" });
      const exited = new Promise((r) => prom.once("exit", r));
      prom.kill("SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
      await running.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

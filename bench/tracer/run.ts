/**
 * kvmon's tracer vs `trace-cmd record` vs `perf record` on the lab's KVM boot-sector guest, in one run: the
 * same events, filtered to the guest's vCPU threads, in interleaved windows (order rotated each round) with a
 * window of no tracing in every round. Each window is bounded by pausing the guest, so a tracer's count of
 * kvm_emulate_insn must equal the delta of KVM's own counter (vcpu.0.insn_emulation.sum): what it misses is
 * lost, whatever the tool says. Per window: events recorded and their rate, events lost (the tool's own report
 * and vs KVM's count), the tracer's CPU (its cpuacct group, from the guest's resume to its exit: reading,
 * decoding or writing out included) per million events and as a share of one core, and the guest's loop rate
 * (insn_emulation per second mid-window) against the untraced window of the same round.
 * Needs root, tracefs, the lab (run under the lab lock), trace-cmd and perf (installed with apt if missing).
 * Run: flock /tmp/kvmon-integration.lock node --disable-warning=ExperimentalWarning bench/tracer/run.ts
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { findTracefs } from "../../src/protocol/tracefs/index.ts";
import { insnEmulation, qemuPid, untilBootLoop, vcpuThreads } from "../../test/tracer-helpers.ts";
import { virsh } from "../../test/libvirt-helpers.ts";
import { kvmGuest, withKvmGuest } from "../../test/lab.ts";
import { benchArgs, commandOutput, debVersion, logger } from "../lib/cli.ts";
import { cpuMs, cpuSource } from "../lib/cpu.ts";
import { f2, median, rotated } from "../lib/stats.ts";
import { METHODS, type Method, startTracer, type TraceResult, type TraceTarget } from "./peers.ts";

const URI = "qemu:///system";
const log = logger("bench/tracer");
const o = benchArgs("bench/tracer/run.ts", {
  numbers: { rounds: 3, window: 5, settle: 0.5, warmup: 5, bufferKb: 4096 },
  lists: {
    event: ["kvm:kvm_emulate_insn", "kvm:kvm_pio", "kvm:kvm_userspace_exit", "kvm:kvm_fpu"],
  },
});
/** The event KVM counts itself: the one loss is checked on. */
const CHECKED = "kvm_emulate_insn";
const APT = "apt-get install -y --no-install-recommends trace-cmd linux-perf";

type Slot = Method | "off";
/** Each method's last process, for the header's "CPU from" (cpuacct or /proc ticks). */
const pids = new Map<Method, number>();

interface Window {
  round: number;
  slot: Slot;
  seconds: number;
  /** KVM's own count of emulated instructions over the window (paused at both ends). */
  kvmCount: number;
  /** Guest loop rate mid-window, insn_emulation / s. */
  loopRate: number;
  cpuMs: number;
  result?: TraceResult;
}

/** trace-cmd and perf on PATH, installed with apt when missing; root and tracefs. */
async function prerequisites(): Promise<string> {
  if (process.getuid?.() !== 0) throw new Error("bench/tracer needs root (tracefs, perf, cgroups)");
  const missing = ["trace-cmd", "perf"].filter((t) => commandOutput("sh", ["-c", `command -v ${t}`]) === "");
  if (missing.length > 0) {
    log(`${missing.join(", ")} missing: ${APT}`);
    execFileSync("sh", ["-c", `DEBIAN_FRONTEND=noninteractive ${APT}`], { stdio: "inherit" });
  }
  return findTracefs();
}

/** KVM's counter with the time it was read (the middle of the virsh call). */
async function counterAt(domain: string): Promise<[number, number]> {
  const t0 = performance.now();
  const n = await insnEmulation(domain);
  return [n, (t0 + performance.now()) / 2];
}

async function measure(round: number, slot: Slot, target: TraceTarget): Promise<Window> {
  const { domain } = target;
  const tracer = slot === "off" ? null : await startTracer(slot, target);
  if (tracer) pids.set(tracer.method, tracer.pid);
  try {
    const c0 = await insnEmulation(domain);
    const cpu0 = tracer ? cpuMs(tracer.pid) : 0;
    await virsh(URI, "resume", domain);
    const resumed = performance.now();
    await sleep(o.settle * 1000);
    const [a, ta] = await counterAt(domain);
    await sleep(o.window * 1000);
    const [b, tb] = await counterAt(domain);
    const suspending = performance.now();
    await virsh(URI, "suspend", domain);
    const seconds = (suspending - resumed) / 1000;
    const c1 = await insnEmulation(domain);
    await tracer?.stop();
    const cpu = tracer ? cpuMs(tracer.pid) - cpu0 : 0;
    const w: Window = {
      round,
      slot,
      seconds,
      kvmCount: c1 - c0,
      loopRate: ((b - a) * 1000) / (tb - ta),
      cpuMs: cpu,
    };
    if (tracer) w.result = await tracer.result();
    log(`round ${round} ${slot}: ${JSON.stringify({ ...w, round: undefined, slot: undefined })}`);
    return w;
  } finally {
    await tracer?.stop();
  }
}

const total = (r: TraceResult): number => Object.values(r.events).reduce((a, b) => a + b, 0);
const int = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString("en") : "—");
const pct1 = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(1)} %` : "—");

function derived(w: Window, off: Window | undefined) {
  const events = w.result ? total(w.result) : 0;
  return {
    events,
    rate: events / w.seconds,
    lostOwn: w.result?.lost ?? 0,
    lostVsKvm: w.kvmCount - (w.result?.events[CHECKED] ?? 0),
    core: (w.cpuMs / 1000 / w.seconds) * 100,
    perMillion: w.cpuMs / 1000 / (events / 1e6),
    slowdown: off ? (1 - w.loopRate / off.loopRate) * 100 : Number.NaN,
  };
}

function report(windows: Window[], target: TraceTarget): string {
  const out: string[] = [];
  const offOf = (round: number) => windows.find((w) => w.round === round && w.slot === "off");
  out.push(
    `Kernel ${release()}, node ${process.version}, trace-cmd ${debVersion("trace-cmd")}, ` +
      `perf ${debVersion("linux-perf")}; guest ${target.domain} (${target.tids.length} vCPU); events ` +
      `${o.event.join(", ")}; ${o.rounds} rounds x ${o.window + o.settle} s windows, order rotated; ` +
      `buffer ${o.bufferKb} KiB; CPU from ${[...pids].map(([m, p]) => `${m}: ${cpuSource(p)}`).join(", ")}\n`,
  );
  out.push(
    `### no tracing\n\n| round | guest loop /s (insn_emulation) | KVM count in window |\n|---|---:|---:|`,
  );
  for (const w of windows.filter((x) => x.slot === "off"))
    out.push(`| ${w.round} | ${int(w.loopRate)} | ${int(w.kvmCount)} |`);
  const summary: string[] = [];
  for (const m of METHODS) {
    out.push(
      `\n### ${m}\n\n| round | events | events/s | lost (own report) | lost vs KVM's ${CHECKED} | CPU s | % of one core | CPU s / M events | guest loop /s | guest slowdown |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
    );
    const ds = windows
      .filter((w) => w.slot === m)
      .map((w) => {
        const d = derived(w, offOf(w.round));
        out.push(
          `| ${w.round} | ${int(d.events)} | ${int(d.rate)} | ${int(d.lostOwn)} | ${int(d.lostVsKvm)} | ` +
            `${(w.cpuMs / 1000).toFixed(3)} | ${pct1(d.core)} | ${f2(d.perMillion)} | ${int(w.loopRate)} | ${pct1(d.slowdown)} |`,
        );
        return d;
      });
    const sum = (k: "lostOwn" | "lostVsKvm") => ds.reduce((a, d) => a + d[k], 0);
    summary.push(
      `| ${m} | ${int(median(ds.map((d) => d.rate)))} | ${int(sum("lostOwn"))} | ${int(sum("lostVsKvm"))} | ` +
        `${pct1(median(ds.map((d) => d.core)))} | ${f2(median(ds.map((d) => d.perMillion)))} | ` +
        `${pct1(median(ds.map((d) => d.slowdown)))} |`,
    );
  }
  out.push(
    `\n### medians over rounds\n\n| method | events/s | lost (own, all rounds) | lost vs KVM (all rounds) | % of one core | CPU s / M events | guest slowdown |\n|---|---:|---:|---:|---:|---:|---:|`,
    ...summary,
  );
  return out.join("\n") + "\n";
}

async function main(): Promise<void> {
  const tracefs = await prerequisites();
  const dir = mkdtempSync(join(tmpdir(), "kvmon-bench-tracer-"));
  try {
    const text = await withKvmGuest(async (domain) => {
      if (domain !== kvmGuest) throw new Error(`unexpected guest ${domain}`);
      await untilBootLoop(domain);
      // The loop's rate settles a few seconds after SeaBIOS hands over: no window before that.
      await sleep(o.warmup * 1000);
      const tids = [...(await vcpuThreads(await qemuPid(domain))).values()];
      const target: TraceTarget = { domain, tids, events: o.event, bufferKb: o.bufferKb, tracefs, dir };
      const windows: Window[] = [];
      await virsh(URI, "suspend", domain);
      try {
        for (let round = 1; round <= o.rounds; round++)
          for (const slot of rotated<Slot>(["off", ...METHODS], round - 1))
            windows.push(await measure(round, slot, target));
      } finally {
        await virsh(URI, "resume", domain).catch(() => undefined);
      }
      return report(windows, target);
    });
    process.stdout.write(text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

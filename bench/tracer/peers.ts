/**
 * The three tracers bench/tracer/run.ts compares, each its own process metered in a cpuacct group of its own,
 * on the same events filtered to the same vCPU threads:
 *   - kvmon: src/tracer in kvmon-peer.ts (private instance, per-CPU trace_pipe_raw read and decoded in process);
 *   - trace-cmd record (Debian trace-cmd): its own instance (-B), a recorder per CPU splicing pages to a file;
 *   - perf record -e (Debian linux-perf): per-thread perf buffers (-t) written to a file.
 * Each starts, says when it is ready, and on stop reports what it recorded per event (the tool's own count,
 * read back from its file for trace-cmd and perf) and what it says it lost.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync, rmdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { meterProcess } from "../lib/cpu.ts";
import { stopChild, waitFor } from "../lib/http.ts";

export type Method = "kvmon" | "trace-cmd" | "perf";
export const METHODS: readonly Method[] = ["kvmon", "trace-cmd", "perf"];

export interface TraceTarget {
  domain: string;
  /** The domain's vCPU thread ids. */
  tids: number[];
  /** `system:name`. */
  events: string[];
  /** Ring-buffer size per CPU (kvmon, trace-cmd) or per-thread buffer (perf), KiB. */
  bufferKb: number;
  /** tracefs mount point (trace-cmd's instance is removed from it). */
  tracefs: string;
  /** A scratch directory for the tools' output files. */
  dir: string;
}

export interface TraceResult {
  /** Events recorded, by bare event name (`kvm_pio`). */
  events: Record<string, number>;
  /** Events the tool itself says it lost (kernel overrun, perf LOST records' counts). */
  lost: number;
}

export interface RunningTracer {
  method: Method;
  pid: number;
  /** Stops it and waits until its data is written (it keeps its cgroup's CPU count for reading after). */
  stop(): Promise<void>;
  /** What it recorded (reads the tool's file back: not part of its metered CPU). */
  result(): Promise<TraceResult>;
}

const bare = (e: string): string => e.slice(e.indexOf(":") + 1);

/** A cpuacct group per process started (a group's name cannot be reused while it exists). */
let started = 0;
const meter = (method: Method, pid: number): void => meterProcess(`${method}-${++started}`, pid);

/** Lines of a child's stdout, collected, with a promise for the first line matching `ready`. */
function watch(child: ChildProcess, ready: RegExp): { lines: string[]; ready: Promise<void> } {
  const lines: string[] = [];
  const ready$ = new Promise<void>((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!])
      createInterface({ input: stream }).on("line", (l) => {
        lines.push(l);
        if (ready.test(l)) resolve();
      });
    child.once("exit", (code, signal) =>
      reject(new Error(`exited before ready (${code ?? signal}):\n${lines.join("\n")}`)),
    );
  });
  return { lines, ready: ready$ };
}

/** SIGINT (each tool's "stop and write out"), then the bounded stop of stopChild. */
async function interrupt(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGINT");
  await Promise.race([exited, sleep(30_000)]);
  await stopChild(child);
}

/** Counts lines per event name with `pattern` (group 1 = bare event name) in a command's output. */
async function countLines(cmd: string, args: string[], pattern: RegExp): Promise<Record<string, number>> {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "ignore"] });
  const counts: Record<string, number> = {};
  for await (const line of createInterface({ input: child.stdout })) {
    const m = pattern.exec(line);
    if (m) counts[m[1]!] = (counts[m[1]!] ?? 0) + 1;
  }
  return counts;
}

async function output(cmd: string, args: string[]): Promise<string> {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  const chunks: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => chunks.push(c));
  child.stderr.on("data", (c: Buffer) => chunks.push(c));
  await new Promise((r) => child.once("close", r));
  return Buffer.concat(chunks).toString("utf8");
}

async function startKvmon(t: TraceTarget): Promise<RunningTracer> {
  const script = new URL("./kvmon-peer.ts", import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", script, t.domain, String(t.bufferKb), ...t.events],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  meter("kvmon", child.pid!);
  const w = watch(child, /^ready$/);
  await w.ready;
  const exited = new Promise((r) => child.once("exit", r));
  return {
    method: "kvmon",
    pid: child.pid!,
    stop: async () => {
      child.kill("SIGINT");
      await Promise.race([exited, sleep(30_000)]);
      await stopChild(child);
    },
    result: async () => {
      const line = w.lines.find((l) => l.startsWith("{"));
      if (!line) throw new Error(`kvmon-peer printed no result:\n${w.lines.join("\n")}`);
      const r = JSON.parse(line) as { events: Record<string, number>; lost: number };
      return { events: r.events, lost: r.lost };
    },
  };
}

/**
 * trace-cmd record into an instance of its own. `-d --no-filter`: this kernel refuses the function tracer's
 * files (ftrace_enabled, set_ftrace_pid, set_ftrace_filter answer EPERM), and trace-cmd 3.1.6 dies on them
 * otherwise (docs/kvm-tracer.md); events need neither. The same in-kernel filter as kvmon's, per event.
 */
async function startTraceCmd(t: TraceTarget): Promise<RunningTracer> {
  const instance = `kvmon-bench-tc-${process.pid}`;
  const file = `${t.dir}/trace-cmd.dat`;
  const filter = t.tids.map((tid) => `common_pid == ${tid}`).join(" || ");
  const args = ["record", "-d", "--no-filter", "-B", instance, "-b", String(t.bufferKb), "-o", file];
  for (const e of t.events) args.push("-e", e, "-f", filter);
  // stdbuf: trace-cmd printf()s "Hit Ctrl^C" when ready, which a pipe would hold back until it exits.
  const child = spawn("stdbuf", ["-oL", "trace-cmd", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  meter("trace-cmd", child.pid!);
  const w = watch(child, /Hit Ctrl\^C to stop recording/);
  await w.ready;
  return {
    method: "trace-cmd",
    pid: child.pid!,
    stop: async () => {
      await interrupt(child);
      // trace-cmd's own reset stops at set_ftrace_filter (EPERM here): the instance is left behind.
      if (existsSync(`${t.tracefs}/instances/${instance}`)) rmdirSync(`${t.tracefs}/instances/${instance}`);
    },
    result: async () => {
      const events = await countLines("trace-cmd", ["report", "-i", file], /^\s*\S.*?\]\s+[\d.]+:\s+(\w+):/);
      const stat = await output("trace-cmd", ["report", "--stat", "-i", file]);
      const lost = [...stat.matchAll(/^overrun: (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
      rmSync(file, { force: true });
      return { events, lost };
    },
  };
}

/** perf record on the vCPU threads (-t: per-thread buffers, so no filter is needed), no build-id pass. */
async function startPerf(t: TraceTarget): Promise<RunningTracer> {
  const file = `${t.dir}/perf.data`;
  const pages = Math.max(1, Math.round(t.bufferKb / 4));
  const args = ["record", "--no-buildid", "-m", String(pages), "-t", t.tids.join(","), "-o", file];
  for (const e of t.events) args.push("-e", e);
  const child = spawn("perf", args, { stdio: ["ignore", "pipe", "pipe"] });
  meter("perf", child.pid!);
  const w = watch(child, /^$a/);
  w.ready.catch(() => undefined);
  // perf says nothing when ready: its file has a header once the events are open; then a margin.
  await waitFor("perf record", async () => {
    if (child.exitCode !== null) throw new Error(`perf exited:\n${w.lines.join("\n")}`);
    return existsSync(file) ? true : undefined;
  });
  await sleep(1000);
  return {
    method: "perf",
    pid: child.pid!,
    stop: () => interrupt(child),
    result: async () => {
      const stat = await output("perf", ["report", "--stats", "-i", file]);
      const events: Record<string, number> = {};
      for (const m of stat.matchAll(/^(\w+:\w+) stats:\n\s+SAMPLE events:\s+(\d+)/gm))
        events[bare(m[1]!)] = Number(m[2]);
      // perf's own loss: LOST_SAMPLES / LOST records are counted, not their sizes; the KVM-count check is the truth.
      const lost = [...stat.matchAll(/^\s+LOST(?:_SAMPLES)? events:\s+(\d+)/gm)].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
      rmSync(file, { force: true });
      return { events, lost };
    },
  };
}

export function startTracer(method: Method, t: TraceTarget): Promise<RunningTracer> {
  return { kvmon: startKvmon, "trace-cmd": startTraceCmd, perf: startPerf }[method](t);
}

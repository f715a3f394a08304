/**
 * CPU and memory of other processes, as the benchmarks read them. Each measured process can be put in a cgroup
 * of its own (cgroup v1 `cpuacct`, as mounted on these machines) whose `cpuacct.usage` counts every thread that
 * ever ran in it, live or exited, in ns; 10 ms /proc ticks are too coarse for a per-scrape cost of a few ms.
 * Where a group cannot be made, /proc/<pid>/stat ticks are the fallback and `cpuSource` says so.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { logger } from "./cli.ts";

const CPUACCT = "/sys/fs/cgroup/cpuacct";
const TICK_S = 100; // USER_HZ: /proc/<pid>/stat times are in 1/100 s on Linux
const log = logger("cpu");
const groups = new Map<number, string>();
let cleanupArmed = false;

/**
 * utime+stime of a process from /proc/<pid>/stat, in ms: every thread, live or exited (collectd's unixsock
 * serves each connection on a new thread, so per-thread counters would miss its scrapes). 10 ms ticks.
 */
export function statCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICK_S; // fields 14 and 15 of stat(5)
}

/** Moves pid into a cpuacct group of its own (removed when this process exits, once empty). */
export function meterProcess(name: string, pid: number): void {
  const dir = join(CPUACCT, `kvmon-bench-${process.pid}-${name.replace(/\W+/g, "-")}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, "cgroup.procs"), String(pid));
    groups.set(pid, dir);
  } catch (e) {
    log(`${name}: no cpuacct group (${(e as Error).message}); its CPU comes from /proc ticks (10 ms)`);
    return;
  }
  if (cleanupArmed) return;
  cleanupArmed = true;
  process.once("exit", () => {
    for (const group of groups.values()) {
      try {
        rmdirSync(group); // empty once its process has exited
      } catch (e) {
        process.stderr.write(`[cpu] cannot remove ${group}: ${(e as Error).message}\n`);
      }
    }
  });
}

/** How pid's CPU is counted: "cpuacct" (ns) or "/proc ticks" (10 ms). */
export const cpuSource = (pid: number): string => (groups.has(pid) ? "cpuacct" : "/proc ticks");

/** CPU of a process in ms: its cpuacct group when it has one (ns resolution), else /proc/<pid>/stat ticks. */
export function cpuMs(pid: number): number {
  const group = groups.get(pid);
  return group ? Number(readFileSync(join(group, "cpuacct.usage"), "utf8")) / 1e6 : statCpuMs(pid);
}

/** A "Key:   N kB" field of /proc/<pid>/status in KiB (VmRSS, VmHWM, RssAnon, RssFile), NaN when absent. */
export function statusKiB(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

export interface ThreadCpu {
  ns: number;
  /** Voluntary context switches: each is a sleep the thread came back from. */
  wakes: number;
}

/**
 * CPU (ns, /proc/<pid>/task/<tid>/schedstat) and wake-ups of a process's live threads, the main thread apart
 * from the others. For processes whose threads live as long as they do (libvirtd's worker pool, Node's V8
 * workers), without moving them into a cgroup.
 */
export function threadCpu(pid: number): Record<"main" | "others", ThreadCpu> {
  const out = { main: { ns: 0, wakes: 0 }, others: { ns: 0, wakes: 0 } };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let ns: number, status: string;
    try {
      ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
    } catch {
      continue; // the thread exited between readdir and read
    }
    const t = Number(tid) === pid ? out.main : out.others;
    t.ns += ns;
    t.wakes += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  }
  return out;
}

/** libvirtd's CPU so far in ms (ns resolution, its live threads): it stays in its own service's cgroup. */
export function libvirtdCpuMs(): number {
  const pid = Number(readFileSync("/var/run/libvirtd.pid", "utf8").trim());
  const t = threadCpu(pid);
  return (t.main.ns + t.others.ns) / 1e6;
}

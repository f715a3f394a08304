/**
 * A kvmon process's own metrics (the `process_*` names every Prometheus client library uses, and the
 * `nodejs_*` heap gauges), read on demand at scrape time; the agent's and the server's /metrics both show them.
 *
 * Written here rather than taken from prom-client's default metrics: those keep an event-loop delay histogram
 * (a timer waking the process many times per interval), a GC observer, and compute percentiles on every
 * scrape; on an agent that otherwise sleeps between collections they cost more CPU than the collection itself
 * (bench/agent). Everything below is a handful of cheap reads. An event-loop stall still shows, in
 * `kvmon_collection_delay_seconds` (how late the scheduler's timer fired).
 */
import { readdirSync, readFileSync } from "node:fs";
import { counter, type Emit, gauge } from "./catalog.ts";

const SOURCE = "the kvmon process (process.cpuUsage, process.memoryUsage, /proc/self)";

export const processMetrics = {
  cpuUser: counter(
    "process_cpu_user_seconds_total",
    "User CPU time spent by this kvmon process (agent or server), in seconds.",
    { source: SOURCE },
  ),
  cpuSystem: counter(
    "process_cpu_system_seconds_total",
    "System CPU time spent by this kvmon process (agent or server), in seconds.",
    { source: SOURCE },
  ),
  cpu: counter(
    "process_cpu_seconds_total",
    "Total user and system CPU time of this kvmon process (agent or server), in seconds.",
    { source: SOURCE },
  ),
  rss: gauge(
    "process_resident_memory_bytes",
    "Resident memory of this kvmon process (agent or server), in bytes.",
    {
      source: SOURCE,
    },
  ),
  start: gauge(
    "process_start_time_seconds",
    "Start time of this kvmon process (agent or server) since the Unix epoch, in seconds.",
    { source: SOURCE },
  ),
  openFds: gauge("process_open_fds", "Open file descriptors of this kvmon process (agent or server).", {
    source: SOURCE,
  }),
  maxFds: gauge(
    "process_max_fds",
    "Limit on open file descriptors of this kvmon process (RLIMIT_NOFILE soft).",
    { source: SOURCE },
  ),
  heapUsed: gauge("nodejs_heap_size_used_bytes", "V8 heap in use, in bytes.", { source: SOURCE }),
  heapTotal: gauge("nodejs_heap_size_total_bytes", "V8 heap allocated, in bytes.", { source: SOURCE }),
  external: gauge(
    "nodejs_external_memory_bytes",
    "Memory of C++ objects bound to JavaScript objects (buffers), in bytes.",
    { source: SOURCE },
  ),
  version: gauge("nodejs_version_info", "Node.js version running this kvmon process (value 1).", {
    labels: ["version"],
    source: SOURCE,
  }),
};

/** Reads once at start-up: the fd limit does not change under a running process unless prlimit is used. */
function readMaxFds(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined; // not Linux: the family is simply absent
  }
}

function countOpenFds(): number | undefined {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return undefined;
  }
}

/** Returns an exposer bound to this process; `startMs` is when the process started (performance.timeOrigin). */
export function processMetricsExposer(startMs: number = performance.timeOrigin): (emit: Emit) => void {
  const maxFds = readMaxFds();
  return (emit) => {
    const m = processMetrics;
    const cpu = process.cpuUsage();
    emit(m.cpuUser, cpu.user / 1e6);
    emit(m.cpuSystem, cpu.system / 1e6);
    emit(m.cpu, (cpu.user + cpu.system) / 1e6);
    const mem = process.memoryUsage();
    emit(m.rss, mem.rss);
    emit(m.start, startMs / 1000);
    const fds = countOpenFds();
    if (fds !== undefined) emit(m.openFds, fds);
    if (maxFds !== undefined) emit(m.maxFds, maxFds);
    emit(m.heapUsed, mem.heapUsed);
    emit(m.heapTotal, mem.heapTotal);
    emit(m.external, mem.external);
    emit(m.version, 1, [process.version]);
  };
}

/**
 * The tracer's families on /metrics, emitted per scrape while a domain is traced (and the health of the last
 * run after). Per-event counts carry vcpu, event and reason; the per-target breakdown (ports, MMIO addresses,
 * MSRs: up to thousands per guest) stays in the JSON API to keep the series count bounded.
 */
import { counter, type Emit, gauge } from "../metrics/catalog.ts";
import type { Tracer } from "./tracer.ts";

const SOURCE = "KVM tracepoints (tracefs instance kvmon-<pid>-agent)";

export const traceMetrics = {
  on: gauge("kvmon_trace_on", "1 while the domain is traced.", { labels: ["domain"], source: SOURCE }),
  events: counter("kvmon_trace_events_total", "KVM events traced in the current run.", {
    labels: ["domain", "vcpu", "event", "reason"],
    source: SOURCE,
  }),
  silent: gauge(
    "kvmon_trace_silent_event",
    "1 for each enabled event that produced nothing in this run (e.g. kvm_exit under kvm_pvm): its zeros are not the truth.",
    { labels: ["event"], source: SOURCE },
  ),
  read: counter("kvmon_trace_read_events_total", "Events the tracer read in its current or last run.", {
    source: SOURCE,
  }),
  lost: counter(
    "kvmon_trace_lost_events_total",
    "Events the kernel overwrote before the tracer read them (per-CPU overrun and page lost counts).",
    { source: "per_cpu/cpuN/stats overrun, ring-buffer page lost counts" },
  ),
  cpu: counter("kvmon_trace_cpu_seconds_total", "CPU the tracer's reader spent, seconds.", {
    source: "process.cpuUsage around each poll",
  }),
};

export function exposeTracer(tracer: Tracer, emit: Emit): void {
  const s = tracer.status();
  const m = traceMetrics;
  for (const t of tracer.active()) {
    emit(m.on, 1, [t.domain]);
    for (const r of aggregateRows(t.rows()))
      emit(m.events, r.count, [t.domain, String(r.vcpu), r.event, r.reason]);
  }
  for (const e of s.silent) emit(m.silent, 1, [e]);
  emit(m.read, s.health.eventsRead);
  emit(m.lost, s.health.eventsLost);
  emit(m.cpu, s.health.cpuSeconds);
}

/** Rows summed over their targets. */
function aggregateRows(
  rows: Iterable<{ vcpu: number; event: string; reason: string; count: number }>,
): { vcpu: number; event: string; reason: string; count: number }[] {
  const out = new Map<string, { vcpu: number; event: string; reason: string; count: number }>();
  for (const r of rows) {
    const key = `${r.vcpu}\0${r.event}\0${r.reason}`;
    const o = out.get(key);
    if (o) o.count += r.count;
    else out.set(key, { vcpu: r.vcpu, event: r.event, reason: r.reason, count: r.count });
  }
  return [...out.values()];
}

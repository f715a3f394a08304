/**
 * Per-vCPU time, I/O wait and delay (bulk stats group VCPU). `vcpu.N.delay` is the time the vCPU thread was
 * runnable but waiting for a host CPU (schedstat run-queue time, libvirt >= 7.9): what the guest sees as steal.
 */
import { counterValue } from "../model/rate.ts";
import type { CounterValue, VcpuEntry } from "../model/types.ts";
import { DomainStatsGroup } from "../protocol/libvirt/types.ts";
import { counter, emitPresent, gauge } from "../metrics/catalog.ts";
import type { DomainCollector } from "./types.ts";

const current = gauge("kvmon_domain_vcpus", "Number of vCPUs currently online in the domain.", {
  source: "vcpu.current",
});
const maximum = gauge("kvmon_domain_vcpus_maximum", "Maximum number of vCPUs the domain can have.", {
  source: "vcpu.maximum",
});
const state = gauge("kvmon_domain_vcpu_state", "virVcpuState of the vCPU: 0 offline, 1 running, 2 blocked.", {
  labels: ["vcpu"],
  source: "vcpu.N.state",
});
const time = counter("kvmon_domain_vcpu_seconds_total", "CPU time the vCPU thread ran, in seconds.", {
  labels: ["vcpu"],
  source: "vcpu.N.time (ns)",
});
const wait = counter(
  "kvmon_domain_vcpu_wait_seconds_total",
  "Time the vCPU thread waited on I/O, in seconds.",
  { labels: ["vcpu"], source: "vcpu.N.wait (ns)" },
);
const delay = counter(
  "kvmon_domain_vcpu_delay_seconds_total",
  "Time the vCPU was runnable but waiting for a host CPU (steal as seen by the guest), in seconds.",
  { labels: ["vcpu"], source: "vcpu.N.delay (ns)" },
);
const halted = gauge(
  "kvmon_domain_vcpu_halted",
  "1 if the vCPU is halted (idle in HLT), 0 if not; absent when libvirt cannot tell.",
  { labels: ["vcpu"], source: "vcpu.N.halted" },
);

export const vcpuCollector: DomainCollector = {
  kind: "domain",
  name: "vcpu",
  description: "per-vCPU state, time, I/O wait and delay (steal)",
  defaultEnabled: true,
  statsGroups: DomainStatsGroup.VCPU,
  metrics: [current, maximum, state, time, wait, delay, halted],
  collect(input, out) {
    const { stats, elapsedSeconds: dt, restarted } = input;
    const cur = stats.num("vcpu.current");
    const max = stats.num("vcpu.maximum");
    if (cur === undefined || max === undefined) {
      out.vcpus = null;
      return;
    }
    const prevList = input.previous?.vcpus?.list ?? [];
    const list: VcpuEntry[] = [];
    // Only active domains have vCPU threads; a shut-off one reports just current/maximum.
    for (let i = 0; input.active && i < max; i++) {
      const p = `vcpu.${i}.`;
      if (!stats.has(`${p}state`) && !stats.has(`${p}time`)) continue;
      const prev = prevList.find((e) => e.index === i);
      const c = (field: string, prevValue: CounterValue | null | undefined): CounterValue | null => {
        const v = stats.seconds(p + field);
        return v === undefined ? null : counterValue(v, prevValue, dt, restarted);
      };
      list.push({
        index: i,
        state: stats.num(`${p}state`) ?? null,
        timeSeconds: c("time", prev?.timeSeconds),
        waitSeconds: c("wait", prev?.waitSeconds),
        delaySeconds: c("delay", prev?.delaySeconds),
        halted: stats.bool(`${p}halted`) ?? null,
      });
    }
    out.vcpus = { current: cur, maximum: max, list };
  },
  expose(sample, emit) {
    const v = sample.vcpus;
    if (!v) return;
    emit(current, v.current);
    emit(maximum, v.maximum);
    const opt = emitPresent(emit);
    for (const e of v.list) {
      const l = [String(e.index)];
      opt(state, e.state, l);
      opt(time, e.timeSeconds, l);
      opt(wait, e.waitSeconds, l);
      opt(delay, e.delaySeconds, l);
      if (e.halted !== null) emit(halted, e.halted ? 1 : 0, l);
    }
  },
};

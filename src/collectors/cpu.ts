/**
 * Domain CPU time (bulk stats group CPU_TOTAL: cpu.time/user/system, from the domain's cgroup, which is exact,
 * unlike dominfo's /proc/PID/stat figure) and CPU utilisation over the MEASURED window:
 *   hostCpuRatio = Δcpu.time / elapsed          (1 = one host CPU fully busy)
 *   vcpuRatio    = hostCpuRatio / vcpu.current  (1 = every vCPU fully busy)
 * cpu.time includes QEMU's own threads (I/O, emulation), so vcpuRatio can slightly exceed 1.
 */
import { counterValue } from "../model/rate.ts";
import { DomainStatsGroup } from "../protocol/libvirt/types.ts";
import { counter, emitPresent, gauge } from "../metrics/catalog.ts";
import type { DomainCollector } from "./types.ts";

const time = counter(
  "kvmon_domain_cpu_seconds_total",
  "CPU time consumed by the domain (all QEMU threads), in seconds.",
  { source: "cpu.time (ns)" },
);
const user = counter(
  "kvmon_domain_cpu_user_seconds_total",
  "User-mode CPU time of the domain's QEMU process, in seconds.",
  { source: "cpu.user (ns)" },
);
const system = counter(
  "kvmon_domain_cpu_system_seconds_total",
  "Kernel-mode CPU time of the domain's QEMU process (includes time in KVM guest mode), in seconds.",
  { source: "cpu.system (ns)" },
);
const hostRatio = gauge(
  "kvmon_domain_cpu_usage_ratio",
  "CPU used over the last measured window, in host CPUs (1 = one host CPU fully busy).",
  { source: "Δcpu.time / measured elapsed seconds" },
);
const vcpuRatio = gauge(
  "kvmon_domain_cpu_vcpu_usage_ratio",
  "CPU used over the last measured window relative to the domain's vCPUs (1 = all vCPUs fully busy).",
  { source: "Δcpu.time / measured elapsed seconds / vcpu.current" },
);

export const cpuCollector: DomainCollector = {
  kind: "domain",
  name: "cpu",
  description: "CPU time (total/user/system) and CPU % of one host CPU and of the domain's vCPUs",
  defaultEnabled: true,
  statsGroups: DomainStatsGroup.CPU_TOTAL | DomainStatsGroup.VCPU,
  metrics: [time, user, system, hostRatio, vcpuRatio],
  collect(input, out) {
    const { stats, elapsedSeconds: dt, restarted } = input;
    const total = stats.seconds("cpu.time");
    // A shut-off domain may still report the last cgroup figures; they are not "current" usage.
    if (total === undefined || !input.active) {
      out.cpu = null;
      return;
    }
    const prev = input.previous?.cpu;
    const timeSeconds = counterValue(total, prev?.timeSeconds, dt, restarted);
    const u = stats.seconds("cpu.user");
    const s = stats.seconds("cpu.system");
    const vcpus = stats.num("vcpu.current");
    const ratio = timeSeconds.perSecond;
    out.cpu = {
      timeSeconds,
      userSeconds: u === undefined ? null : counterValue(u, prev?.userSeconds, dt, restarted),
      systemSeconds: s === undefined ? null : counterValue(s, prev?.systemSeconds, dt, restarted),
      hostCpuRatio: ratio,
      vcpuRatio: ratio !== null && vcpus !== undefined && vcpus > 0 ? ratio / vcpus : null,
    };
  },
  expose(sample, emit) {
    const c = sample.cpu;
    if (!c) return;
    emit(time, c.timeSeconds.total);
    const opt = emitPresent(emit);
    opt(user, c.userSeconds);
    opt(system, c.systemSeconds);
    opt(hostRatio, c.hostCpuRatio);
    opt(vcpuRatio, c.vcpuRatio);
  },
};

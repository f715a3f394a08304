/**
 * KVM's own counters, per vCPU and per VM, as libvirt reports them in the bulk stats (groups VCPU and VM, from
 * QEMU's query-stats, libvirt >= 8.3, KVM domains only): `vcpu.N.<stat>.sum` (cumulative), `.cur` (instant),
 * `.max` (peak), and the same under `vm.`. The always-on hypervisor-level view: exits, io/mmio/halt/irq/signal
 * exits, insn_emulation, ... whatever the running kernel exports, without hard-coding the list. Stat names are
 * labels, not metric names, so a new kernel stat needs no code change; `*_ns` counters become seconds.
 *
 * Cardinality: KVM exports ~45 counters per vCPU, so a 64-vCPU guest would add ~3000 series. /metrics therefore
 * carries EVERY counter summed per domain, and per vCPU only the exit/emulation/halt counters that matter for
 * finding a noisy vCPU (PER_VCPU). The JSON API keeps every counter of every vCPU.
 */
import { counterValue } from "../model/rate.ts";
import type { CounterValue, KvmSample, KvmStatSet } from "../model/types.ts";
import { DomainStatsGroup } from "../protocol/libvirt/types.ts";
import { counter, gauge } from "../metrics/catalog.ts";
import type { DomainCollector } from "./types.ts";

/** Counters exported per vCPU on /metrics (all others only as per-domain sums). */
export const PER_VCPU: ReadonlySet<string> = new Set([
  "exits",
  "io_exits",
  "mmio_exits",
  "halt_exits",
  "irq_exits",
  "signal_exits",
  "irq_window_exits",
  "insn_emulation",
  "hypercalls",
  "halt_wait_seconds",
]);

const m = {
  events: counter(
    "kvmon_domain_kvm_events_total",
    "KVM event counter named by `counter` (exits, io_exits, halt_exits, insn_emulation, pf_taken, ...) summed over the domain's vCPUs; do not sum across `counter`.",
    { labels: ["counter"], source: "Σ over N of vcpu.N.<counter>.sum" },
  ),
  time: counter(
    "kvmon_domain_kvm_time_seconds_total",
    "KVM time counter named by `counter` (halt_wait, halt_poll_success, halt_poll_fail) summed over the domain's vCPUs, in seconds.",
    { labels: ["counter"], source: "Σ over N of vcpu.N.<counter>_ns.sum (ns)" },
  ),
  vcpuEvents: counter(
    "kvmon_domain_kvm_vcpu_events_total",
    "KVM per-vCPU event counter named by `counter`, for the exit/emulation counters only (exits, io_exits, mmio_exits, halt_exits, irq_exits, signal_exits, irq_window_exits, insn_emulation, hypercalls); do not sum across `counter`.",
    { labels: ["vcpu", "counter"], source: "vcpu.N.<counter>.sum" },
  ),
  vcpuTime: counter(
    "kvmon_domain_kvm_vcpu_time_seconds_total",
    "KVM per-vCPU time counter named by `counter` (halt_wait only: time the vCPU waited in HLT), in seconds.",
    { labels: ["vcpu", "counter"], source: "vcpu.N.<counter>_ns.sum (ns)" },
  ),
  vcpuCurrent: gauge(
    "kvmon_domain_kvm_vcpu_current",
    "KVM per-vCPU instant value named by `stat` (booleans as 0/1).",
    { labels: ["vcpu", "stat"], source: "vcpu.N.<stat>.cur" },
  ),
  vcpuPeak: gauge("kvmon_domain_kvm_vcpu_peak", "KVM per-vCPU peak value named by `stat`.", {
    labels: ["vcpu", "stat"],
    source: "vcpu.N.<stat>.max",
  }),
  vmEvents: counter(
    "kvmon_domain_kvm_vm_events_total",
    "KVM per-VM event counter named by `counter` (remote_tlb_flush, mmu_*, ...).",
    { labels: ["counter"], source: "vm.<counter>.sum" },
  ),
  vmTime: counter(
    "kvmon_domain_kvm_vm_time_seconds_total",
    "KVM per-VM time counter named by `counter`, in seconds.",
    { labels: ["counter"], source: "vm.<counter>_ns.sum (ns)" },
  ),
  vmCurrent: gauge(
    "kvmon_domain_kvm_vm_current",
    "KVM per-VM instant value named by `stat` (pages_4k, pages_2m, ...).",
    { labels: ["stat"], source: "vm.<stat>.cur" },
  ),
  vmPeak: gauge("kvmon_domain_kvm_vm_peak", "KVM per-VM peak value named by `stat`.", {
    labels: ["stat"],
    source: "vm.<stat>.max",
  }),
};

const VCPU_FIELD = /^vcpu\.(\d+)\.([A-Za-z0-9_]+)\.(sum|cur|max)$/;
const VM_FIELD = /^vm\.([A-Za-z0-9_]+)\.(sum|cur|max)$/;
const TIME_SUFFIX = "_ns";

interface RawSet {
  sum: Map<string, number>;
  cur: Map<string, number>;
  max: Map<string, number>;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  return undefined;
}

function newRaw(): RawSet {
  return { sum: new Map(), cur: new Map(), max: new Map() };
}

/** `halt_wait_ns` → `halt_wait_seconds` with the value in seconds; other names unchanged. */
function counterName(name: string): [string, number] {
  return name.endsWith(TIME_SUFFIX) ? [`${name.slice(0, -TIME_SUFFIX.length)}_seconds`, 1e9] : [name, 1];
}

function toSet(raw: RawSet, prev: KvmStatSet | undefined, dt: number | null, reset: boolean): KvmStatSet {
  const counters: Record<string, CounterValue> = {};
  for (const [name, v] of raw.sum) {
    const [key, divisor] = counterName(name);
    counters[key] = counterValue(v / divisor, prev?.counters[key], dt, reset);
  }
  return { counters, current: Object.fromEntries(raw.cur), peak: Object.fromEntries(raw.max) };
}

export const kvmCollector: DomainCollector = {
  kind: "domain",
  name: "kvm",
  description: "KVM per-vCPU and per-VM counters (exits by kind, emulated instructions, ...) as rates",
  defaultEnabled: true,
  statsGroups: DomainStatsGroup.VCPU | DomainStatsGroup.VM,
  metrics: Object.values(m),
  collect(input, out) {
    const { stats, elapsedSeconds: dt, restarted } = input;
    const vcpuRaw = new Map<number, RawSet>();
    const vmRaw = newRaw();
    for (const [field, value] of stats.record.params) {
      const n = toNumber(value);
      if (n === undefined) continue;
      const v = VCPU_FIELD.exec(field);
      if (v) {
        const idx = Number(v[1]);
        let set = vcpuRaw.get(idx);
        if (!set) {
          set = newRaw();
          vcpuRaw.set(idx, set);
        }
        set[v[3] as keyof RawSet].set(v[2]!, n);
        continue;
      }
      const w = VM_FIELD.exec(field);
      if (w) vmRaw[w[2] as keyof RawSet].set(w[1]!, n);
    }
    if (vcpuRaw.size === 0 && vmRaw.sum.size + vmRaw.cur.size + vmRaw.max.size === 0) {
      out.kvm = null; // TCG domain, shut-off domain, or libvirt < 8.3: no KVM stats
      return;
    }
    const prev = input.previous?.kvm ?? undefined;
    const vcpus = [...vcpuRaw.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, raw]) => ({
        index,
        ...toSet(
          raw,
          prev?.vcpus.find((x) => x.index === index),
          dt,
          restarted,
        ),
      }));
    const sums = new Map<string, number>();
    for (const raw of vcpuRaw.values()) for (const [k, v] of raw.sum) sums.set(k, (sums.get(k) ?? 0) + v);
    const totals = toSet(
      { sum: sums, cur: new Map(), max: new Map() },
      prev && { counters: prev.totals, current: {}, peak: {} },
      dt,
      restarted,
    ).counters;
    const kvm: KvmSample = { vcpus, totals, vm: toSet(vmRaw, prev?.vm, dt, restarted) };
    out.kvm = kvm;
  },
  expose(sample, emit) {
    const k = sample.kvm;
    if (!k) return;
    for (const [name, c] of Object.entries(k.totals)) {
      if (name.endsWith("_seconds")) emit(m.time, c.total, [name.slice(0, -8)]);
      else emit(m.events, c.total, [name]);
    }
    for (const v of k.vcpus) {
      const i = String(v.index);
      for (const [name, c] of Object.entries(v.counters)) {
        if (!PER_VCPU.has(name)) continue;
        if (name.endsWith("_seconds")) emit(m.vcpuTime, c.total, [i, name.slice(0, -8)]);
        else emit(m.vcpuEvents, c.total, [i, name]);
      }
      for (const [name, x] of Object.entries(v.current)) emit(m.vcpuCurrent, x, [i, name]);
      for (const [name, x] of Object.entries(v.peak)) emit(m.vcpuPeak, x, [i, name]);
    }
    for (const [name, c] of Object.entries(k.vm.counters)) {
      if (name.endsWith("_seconds")) emit(m.vmTime, c.total, [name.slice(0, -8)]);
      else emit(m.vmEvents, c.total, [name]);
    }
    for (const [name, x] of Object.entries(k.vm.current)) emit(m.vmCurrent, x, [name]);
    for (const [name, x] of Object.entries(k.vm.peak)) emit(m.vmPeak, x, [name]);
  },
};

import assert from "node:assert/strict";
import { test } from "node:test";
import { near, sampleSeries } from "./fixtures/harness.ts";
import { kvmCollector } from "./kvm.ts";

// kvm-nova-1 → kvm-nova-2: a KVM boot-sector guest (2 vCPUs), 5.055 s apart.
const DT = (1795480139922 - 1795480134867) / 1000;

test("KVM per-vCPU counters become rates; *_ns counters become seconds", () => {
  const [, s] = sampleSeries([kvmCollector], ["kvm-nova-1.stats", "kvm-nova-2.stats"]).samples;
  const k = s!.kvm!;
  assert.deepEqual(
    k.vcpus.map((v) => v.index),
    [0, 1],
  );
  const v0 = k.vcpus[0]!;
  assert.equal(v0.counters.exits!.total, 7554);
  near(v0.counters.exits!.perSecond, (7554 - 7361) / DT, "exits/s");
  near(v0.counters.halt_exits!.perSecond, (123 - 31) / DT, "halt exits/s");
  near(v0.counters.insn_emulation!.perSecond, (5797755 - 5759667) / DT, "emulated insn/s");
  near(v0.counters.halt_wait_seconds!.total, 5.57830916, "halt_wait seconds");
  near(v0.counters.halt_wait_seconds!.perSecond, (5578309160 - 557974864) / 1e9 / DT, "halt wait s/s");
  assert.equal(v0.current.guest_mode, 0, "boolean .cur as 0/1");
  // totals over vCPUs: exits 7554 + 1
  assert.equal(k.totals.exits!.total, 7555);
  near(k.totals.exits!.perSecond, (7555 - 7362) / DT, "total exits/s");
  near(k.totals.halt_wait_seconds!.total, (5578309160 + 8832810737) / 1e9, "total halt wait");
  // per-VM stats
  assert.equal(k.vm.counters.remote_tlb_flush_requests!.total >= 0, true);
  assert.equal(typeof k.vm.current.pages_4k, "number");
  assert.equal(typeof k.vm.peak.max_mmu_rmap_size, "number");
});

test("TCG guests and shut-off domains have no KVM section", () => {
  assert.equal(sampleSeries([kvmCollector], ["tcg-1.stats"]).samples[0]!.kvm, null);
  assert.equal(sampleSeries([kvmCollector], ["shutoff.stats"]).samples[0]!.kvm, null);
});

test("/metrics: every KVM counter summed per domain, only the exit/emulation/halt counters per vCPU", () => {
  const [, s] = sampleSeries([kvmCollector], ["kvm-nova-1.stats", "kvm-nova-2.stats"]).samples;
  const lines: string[] = [];
  kvmCollector.expose(s!, (spec, value, labels = []) =>
    lines.push(`${spec.name}{${labels.join(",")}} ${value}`),
  );
  assert.ok(lines.includes("kvmon_domain_kvm_events_total{exits} 7555"));
  assert.ok(lines.includes("kvmon_domain_kvm_events_total{pf_taken} 0"), "rare counters as domain sums");
  assert.ok(lines.includes("kvmon_domain_kvm_vcpu_events_total{0,exits} 7554"));
  assert.ok(lines.includes("kvmon_domain_kvm_vcpu_time_seconds_total{1,halt_wait} 8.832810737"));
  assert.ok(
    !lines.some((l) => l.startsWith("kvmon_domain_kvm_vcpu_events_total{0,pf_taken}")),
    "not per vCPU",
  );
  assert.ok(lines.includes("kvmon_domain_kvm_vcpu_current{0,guest_mode} 0"));
  assert.ok(lines.some((l) => l.startsWith("kvmon_domain_kvm_vm_events_total{remote_tlb_flush_requests}")));
  const perVcpu = lines.filter((l) => l.startsWith("kvmon_domain_kvm_vcpu_")).length;
  assert.ok(perVcpu <= 2 * 14, `${perVcpu} per-vCPU series for 2 vCPUs`);
});

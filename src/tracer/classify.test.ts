import assert from "node:assert/strict";
import { test } from "node:test";
import { format } from "../protocol/tracefs/testing/fixtures.ts";
import { classifier } from "./classify.ts";

test("kvm_exit: the reason named from the kernel's VMX or SVM table by isa, VMX flags kept apart", () => {
  const c = classifier(format("kvm_exit"));
  const vmx = c({ exit_reason: 30, isa: 1, guest_rip: 0x7c00n, info1: 0n, info2: 0n });
  assert.equal(vmx.reason, "IO_INSTRUCTION");
  assert.equal(vmx.details.rip, "0x7c00");
  assert.equal(c({ exit_reason: 0x80000021, isa: 1 }).reason, "INVALID_STATE|FAILED_VMENTRY");
  assert.equal(c({ exit_reason: 0x7b, isa: 2 }).reason, "io");
  assert.equal(
    c({ exit_reason: 0xfff0, isa: 1 }).reason,
    "#65520",
    "a value the table lacks is shown, not dropped",
  );
});

test("kvm_pio, kvm_mmio, kvm_msr: direction or type as reason, the port / address / MSR as target", () => {
  const pio = classifier(format("kvm_pio"))({ rw: 1, port: 0x3f8, size: 1, count: 1, val: 65 });
  assert.deepEqual([pio.reason, pio.target], ["write", "0x3f8"]);
  const mmio = classifier(format("kvm_mmio"))({ type: 1, len: 4, gpa: 0xfee00000n, val: 0n });
  assert.deepEqual([mmio.reason, mmio.target], ["read", "0xfee00000"]);
  const msr = classifier(format("kvm_msr"))({ write: 0, ecx: 0x1b, data: 0n, exception: 1 });
  assert.deepEqual([msr.reason, msr.target], ["read #GP", "0x1b"]);
});

test("kvm_emulate_insn and kvm_userspace_exit: mode or failure, exit reason or restart", () => {
  const insn = classifier(format("kvm_emulate_insn"));
  assert.equal(insn({ flags: 0, failed: 0, rip: 1n, csbase: 0, len: 2 }).reason, "real");
  assert.equal(insn({ flags: 0, failed: 1, rip: 1n, csbase: 0, len: 2 }).reason, "failed");
  const exit = classifier(format("kvm_userspace_exit"));
  assert.equal(exit({ reason: 2, errno: 0 }).reason, "KVM_EXIT_IO");
  assert.equal(exit({ reason: 0, errno: -4 }).reason, "restart");
  assert.equal(exit({ reason: 0, errno: -14 }).reason, "error");
});

test("an event without its own rule: its first unconditional symbolic field", () => {
  assert.equal(classifier(format("kvm_fpu"))({ load: 1 }).reason, "load");
  assert.equal(classifier(format("kvm_set_irq"))({ gsi: 4, level: 1, irq_source_id: 0 }).reason, "");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { evalConstant, symbolize, symbolTables } from "./symbols.ts";
import { format } from "./testing/fixtures.ts";

test("constant expressions of symbol tables", () => {
  assert.equal(evalConstant("0x040 + 14"), 0x4en);
  assert.equal(evalConstant("(1 << 0) | (1 << 2)"), 5n);
  assert.equal(evalConstant("-1"), -1n);
  assert.equal(evalConstant("~0xffff"), -0x10000n);
  assert.equal(evalConstant("1 << 2 + 1"), 8n, "+ binds tighter than <<, as in C");
  assert.equal(evalConstant("REC->x"), undefined);
  assert.equal(evalConstant("(1"), undefined);
});

test("kvm_exit: the VMX table (masked 0xffff, when isa == 1), its flags, and the SVM table otherwise", () => {
  const f = format("kvm_exit");
  const tables = symbolTables(f);
  assert.deepEqual(
    tables.map((t) => [t.kind, t.field, t.mask, t.when]),
    [
      ["symbolic", "exit_reason", 0xffffn, { field: "isa", equals: 1n, negate: false }],
      ["symbolic", "exit_reason", undefined, { field: "isa", equals: 1n, negate: true }],
      ["flags", "exit_reason", -0x10000n, { field: "isa", equals: 1n, negate: false }],
    ],
  );
  const [vmx, svm] = tables;
  // Every `{ value, "NAME" }` pair of the kernel's text is read: nothing is dropped or hard-coded.
  const vmxText = f.printFmt.slice(0, f.printFmt.indexOf(") : __print_symbolic"));
  assert.equal(vmx!.symbols.size, vmxText.match(/\{ \d+, "/g)!.length);
  assert.equal(vmx!.symbols.get(30n), "IO_INSTRUCTION");
  assert.equal(vmx!.symbols.get(48n), "EPT_VIOLATION");
  assert.equal(svm!.symbols.get(0x7bn), "io");
  assert.equal(svm!.symbols.get(0x4en), "PF excp");
  assert.equal(svm!.symbols.get(0xffffffffn), "invalid_guest_state", "-1 read at the field's width");

  const vmxIo = symbolize(tables, "exit_reason", { isa: 1, exit_reason: 0x8000_001e });
  assert.deepEqual(vmxIo, { value: 30n, name: "IO_INSTRUCTION", flags: ["FAILED_VMENTRY"] });
  assert.deepEqual(symbolize(tables, "exit_reason", { isa: 2, exit_reason: 0x7b }), {
    value: 0x7bn,
    name: "io",
    flags: [],
  });
  assert.equal(symbolize(tables, "exit_reason", { isa: 1, exit_reason: 0xfff0 })?.name, undefined);
  assert.equal(symbolize(tables, "guest_rip", { isa: 1, guest_rip: 0n }), undefined);
});

test("other kvm tables: string concatenation and flag expressions", () => {
  const exit = symbolTables(format("kvm_userspace_exit"));
  assert.equal(symbolize(exit, "reason", { reason: 2, errno: 0 })?.name, "KVM_EXIT_IO");
  const insn = symbolTables(format("kvm_emulate_insn"));
  assert.equal(symbolize(insn, "flags", { flags: 5 })?.name, "prot32");
  assert.equal(symbolize(insn, "flags", { flags: 0 })?.name, "real");
});

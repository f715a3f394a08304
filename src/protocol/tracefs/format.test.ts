import assert from "node:assert/strict";
import { test } from "node:test";
import { TracefsFormatError } from "./errors.ts";
import { parseEventFormat, parseFields, parseHeaderEvent, parseHeaderPage } from "./format.ts";
import { fixtureText, format, header, layout } from "./testing/fixtures.ts";

test("kvm_exit's format: id, common fields, its own fields with offsets, sizes and signedness", () => {
  const f = format("kvm_exit");
  assert.equal(f.name, "kvm_exit");
  assert.ok(f.id > 0);
  assert.deepEqual(
    f.common.map((c) => [c.name, c.offset, c.size, c.signed]),
    [
      ["common_type", 0, 2, false],
      ["common_flags", 2, 1, false],
      ["common_preempt_count", 3, 1, false],
      ["common_pid", 4, 4, true],
    ],
  );
  const byName = new Map(f.fields.map((x) => [x.name, x]));
  assert.deepEqual(byName.get("exit_reason"), {
    name: "exit_reason",
    type: "unsigned int",
    offset: 8,
    size: 4,
    signed: false,
    kind: "int",
    isString: false,
  });
  assert.equal(byName.get("guest_rip")?.size, 8);
  assert.equal(byName.get("isa")?.type, "u32");
  assert.ok(f.printFmt.startsWith('"vcpu %u reason %s'));
});

test("fixed arrays, trailing char buf[] and dynamic arrays are told apart", () => {
  const insn = format("kvm_emulate_insn").fields.find((x) => x.name === "insn")!;
  assert.deepEqual([insn.kind, insn.size, insn.isString, insn.type], ["array", 15, false, "__u8"]);
  const buf = format("print").fields.find((x) => x.name === "buf")!;
  assert.deepEqual([buf.kind, buf.isString], ["rest", true]);
  const [loc, rel, comm] = parseFields(
    "\tfield:__data_loc char[] name;\toffset:8;\tsize:4;\tsigned:0;\n" +
      "\tfield:__rel_loc u8[] blob;\toffset:12;\tsize:4;\tsigned:0;\n" +
      "\tfield:char comm[16];\toffset:16;\tsize:16;\tsigned:0;\n",
  );
  assert.deepEqual(
    [loc!.kind, loc!.isString, loc!.name, loc!.type],
    ["data_loc", true, "name", "__data_loc char"],
  );
  assert.deepEqual([rel!.kind, rel!.isString], ["rel_loc", false]);
  assert.deepEqual([comm!.kind, comm!.isString], ["array", true]);
});

test("header_page and header_event of this machine", () => {
  assert.deepEqual(layout, {
    timestampOffset: 0,
    commitOffset: 8,
    commitSize: 8,
    dataOffset: 16,
    dataSize: 4080,
  });
  assert.deepEqual(header, {
    typeLenBits: 5,
    timeDeltaBits: 27,
    padding: 29,
    timeExtend: 30,
    timeStamp: 31,
    dataMaxTypeLen: 28,
  });
});

test("malformed descriptions are TracefsFormatError", () => {
  assert.throws(() => parseEventFormat("format:\n"), TracefsFormatError);
  assert.throws(
    () => parseEventFormat("name: x\nID: 1\nformat:\n\tfield:int a;\toffset:0;\tsize:4;\tsigned:1;\n"),
    TracefsFormatError,
  );
  assert.throws(
    () =>
      parseEventFormat(
        `name: x\nID: 1\n${fixtureText("kvm_pio.format")}\tfield:int a;\toffset:28;\tsize:3;\tsigned:1;\n`,
      ),
    TracefsFormatError,
  );
  assert.throws(
    () => parseHeaderPage("\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"),
    TracefsFormatError,
  );
  assert.throws(
    () => parseHeaderEvent(fixtureText("header_event").replace("27 bits", "26 bits")),
    TracefsFormatError,
  );
});

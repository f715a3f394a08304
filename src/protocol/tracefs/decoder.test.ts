/**
 * The decoder on pages built from this machine's format files (testing/page-builder.ts): kvm_exit of both ISAs
 * (this host's kvm_pvm never fires kvm_exit, so these records are built, not captured), every event-header
 * type, lost-event flags, and corrupt pages, which must end in a typed error, never a throw or a hang.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TraceDecoder, type DecodedPage, type TraceEvent } from "./decoder.ts";
import { RingBufferCorruptError } from "./errors.ts";
import { parseEventFormat } from "./format.ts";
import { symbolize, symbolTables } from "./symbols.ts";
import { encodeRecord, PageBuilder } from "./testing/page-builder.ts";
import { allFormats, format, header, layout } from "./testing/fixtures.ts";

const decoder = new TraceDecoder(layout, header, allFormats());
const T0 = 7_000_000_000_000n;

function decode(page: Uint8Array): { info: DecodedPage; events: TraceEvent[] } {
  const events: TraceEvent[] = [];
  const info = decoder.decodePage(page, 1, (e) => events.push(e));
  return { info, events };
}

test("kvm_exit records of both ISAs, built from the format file, decode and name their reasons", () => {
  const exit = format("kvm_exit");
  const vmx = { exit_reason: 0x8000_001e, guest_rip: 0xfff0n, isa: 1, info1: 0x80n, info2: 0n, vcpu_id: 0 };
  const svm = { exit_reason: 0x7b, guest_rip: 0x7c02n, isa: 2, info1: 1n, info2: 2n, vcpu_id: 3 };
  const page = new PageBuilder(layout, header, T0)
    .record(encodeRecord(exit, 4321, vmx), 10)
    .record(encodeRecord(exit, 4322, svm), 20)
    .build();
  const { info, events } = decode(page);
  assert.equal(info.error, undefined);
  assert.equal(info.records, 2);
  assert.deepEqual(
    events.map((e) => [e.event, e.pid, e.cpu, e.timestamp]),
    [
      ["kvm_exit", 4321, 1, T0 + 10n],
      ["kvm_exit", 4322, 1, T0 + 30n],
    ],
  );
  assert.equal(events[0]!.fields.guest_rip, 0xfff0n);
  assert.equal(events[1]!.fields.vcpu_id, 3);
  const tables = symbolTables(exit);
  assert.deepEqual(symbolize(tables, "exit_reason", events[0]!.fields), {
    value: 30n,
    name: "IO_INSTRUCTION",
    flags: ["FAILED_VMENTRY"],
  });
  assert.equal(symbolize(tables, "exit_reason", events[1]!.fields)?.name, "io");
});

test("time: deltas, time-extend, absolute-time records and padding all move the clock", () => {
  const pio = encodeRecord(format("kvm_pio"), 7, { rw: 1, port: 0x80, size: 1, count: 1, val: 1 });
  const page = new PageBuilder(layout, header, T0)
    .record(pio, 5)
    .timeExtend(200_000_000n) // 200 ms: more than time_delta's 27 bits
    .record(pio, 0)
    .padding(24, 3)
    .record(pio, 2)
    .timeStamp(T0 + 1_000_000_000n)
    .record(pio, 1)
    .end()
    .build();
  const { info, events } = decode(page);
  assert.equal(info.error, undefined);
  assert.deepEqual(
    events.map((e) => e.timestamp - T0),
    [5n, 200_000_005n, 200_000_010n, 1_000_000_001n],
  );
  assert.deepEqual([info.records, info.timeRecords, info.paddings], [4, 2, 1]);
  assert.deepEqual(events[0]!.fields, { rw: 1, port: 0x80, size: 1, count: 1, val: 1 });
});

test("an absolute time takes its top bits from the page timestamp", () => {
  const base = (0x18n << 59n) + 1000n;
  const pio = encodeRecord(format("kvm_pio"), 7, { port: 1 });
  const { events } = decode(
    new PageBuilder(layout, header, base)
      .timeStamp(base + 5n)
      .record(pio)
      .build(),
  );
  assert.equal(events[0]!.timestamp, base + 5n);
});

test("records longer than type_len can say use a length word; strings and byte arrays decode", () => {
  const print = format("print");
  const text = "x".repeat(200);
  const insn = Uint8Array.of(0xe6, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  const page = new PageBuilder(layout, header, T0)
    .record(encodeRecord(print, 1, { ip: 0xffffffff81000000n, buf: text }))
    .record(encodeRecord(format("kvm_emulate_insn"), 1, { rip: 0x7c02n, csbase: 0, len: 2, insn, flags: 0 }))
    .build();
  const { info, events } = decode(page);
  assert.equal(info.error, undefined);
  assert.equal(events[0]!.fields.buf, text);
  assert.deepEqual(events[1]!.fields.insn, insn);
  assert.equal(events[1]!.fields.len, 2);
});

test("lost events: flag alone, and flag with the count stored after the data", () => {
  const pio = encodeRecord(format("kvm_pio"), 7, { port: 1 });
  const flagged = decode(new PageBuilder(layout, header, T0).record(pio).build(true)).info;
  assert.deepEqual([flagged.missedEvents, flagged.missedCount, flagged.records], [true, undefined, 1]);
  const counted = decode(new PageBuilder(layout, header, T0).record(pio).build(12345n)).info;
  assert.deepEqual([counted.missedEvents, counted.missedCount], [true, 12345n]);
  const none = decode(new PageBuilder(layout, header, T0).record(pio).build()).info;
  assert.deepEqual([none.missedEvents, none.missedCount], [false, undefined]);
});

test("records of events the decoder was not given are counted, not decoded", () => {
  const only = new TraceDecoder(layout, header, [format("kvm_pio")]);
  const page = new PageBuilder(layout, header, T0)
    .record(encodeRecord(format("kvm_fpu"), 1, { load: 1 }))
    .record(encodeRecord(format("kvm_pio"), 1, { port: 2 }))
    .build();
  const events: TraceEvent[] = [];
  const info = only.decodePage(page, 0, (e) => events.push(e));
  assert.deepEqual([info.unknown, events.length, info.error], [1, 1, undefined]);
});

test("corrupt pages end in RingBufferCorruptError with the records before it kept", () => {
  const pio = encodeRecord(format("kvm_pio"), 7, { port: 1 });
  const good = () => new PageBuilder(layout, header, T0).record(pio).record(pio).build();
  const commitTooBig = good();
  new DataView(commitTooBig.buffer).setUint32(layout.commitOffset, layout.dataSize + 4, true);
  const pastCommit = good();
  new DataView(pastCommit.buffer).setUint32(layout.commitOffset, 8 + pio.length, true); // cuts record 2
  const shortRecord = new PageBuilder(layout, header, T0).record(pio).record(pio.subarray(0, 8)).build();
  const cases: [string, Uint8Array, number][] = [
    ["commit past the page", commitTooBig, 0],
    ["record past the commit", pastCommit, 1],
    ["record shorter than its format", shortRecord, 1],
    ["page shorter than its header", new Uint8Array(8), 0],
  ];
  for (const [what, page, kept] of cases) {
    const { info, events } = decode(page);
    assert.ok(info.error instanceof RingBufferCorruptError, what);
    assert.equal(info.error.code, "TRACEFS_CORRUPT_PAGE");
    assert.equal(events.length, kept, what);
  }
});

test("random damage to a page never throws and always ends (bounded walk)", () => {
  const pio = encodeRecord(format("kvm_pio"), 7, { port: 1 });
  const b = new PageBuilder(layout, header, T0);
  for (let i = 0; i < 100; i++) b.record(pio, i);
  const page = b.build();
  let seed = 42;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n) >>> 0;
  let errors = 0;
  for (let round = 0; round < 2000; round++) {
    const damaged = page.slice();
    for (let k = 0; k < 8; k++) damaged[rand(layout.dataOffset + 800)] = rand(256);
    const { info } = decode(damaged);
    if (info.error) errors++;
  }
  assert.ok(errors > 0, "some damage is detected");
});

test("dynamic arrays (__data_loc, __rel_loc) decode; one pointing past its record is a typed error", () => {
  const dyn = parseEventFormat(
    "name: dyn\nID: 900\nformat:\n" +
      "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n" +
      "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n" +
      "\tfield:__data_loc char[] name;\toffset:8;\tsize:4;\tsigned:0;\n" +
      "\tfield:__rel_loc u8[] blob;\toffset:12;\tsize:4;\tsigned:0;\n" +
      'print fmt: "%s", __get_str(name)\n',
  );
  const d = new TraceDecoder(layout, header, [dyn]);
  const body = encodeRecord(dyn, 5, { name: "CPU 0/KVM", blob: Uint8Array.of(1, 2, 3) });
  const events: TraceEvent[] = [];
  const ok = d.decodePage(new PageBuilder(layout, header, T0).record(body).build(), 0, (e) => events.push(e));
  assert.equal(ok.error, undefined);
  assert.equal(events[0]!.fields.name, "CPU 0/KVM");
  assert.deepEqual(events[0]!.fields.blob, Uint8Array.of(1, 2, 3));
  const bad = body.slice();
  new DataView(bad.buffer).setUint32(8, 8 | (200 << 16), true);
  const info = d.decodePage(new PageBuilder(layout, header, T0).record(bad).build(), 0, () => {});
  assert.ok(info.error instanceof RingBufferCorruptError);
  assert.match(info.error.message, /field name/);
});

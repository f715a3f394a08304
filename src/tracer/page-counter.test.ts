/**
 * The counting path against the full decoder: the same pages counted by PageCounter and decoded in full (every
 * field, classified, DomainTrace.add) give the same rows (vCPU x event x reason x target), totals, per-second
 * series and ring of recent events. On the pages captured from the KVM guest (in one read and across reads
 * that cut the capture at page boundaries), the overflowed capture's lost count, and built pages with what the
 * capture lacks: kvm_exit of both ISAs, MMIO above 2^53 (the exact slow path), MSRs, two domains, an
 * untraced thread, an event not traced, time-extend records and corrupt records.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type EventFormat, TraceDecoder } from "../protocol/tracefs/index.ts";
import { encodeRecord, PageBuilder } from "../protocol/tracefs/testing/page-builder.ts";
import {
  allFormats,
  fixtureBytes,
  format,
  header,
  layout,
  manifest,
} from "../protocol/tracefs/testing/fixtures.ts";
import { classifiers } from "./classify.ts";
import { DomainTrace } from "./domain-trace.ts";
import { PageCounter, type CountedPages } from "./page-counter.ts";

const OFFSET_MS = 1_700_000_000_000;
const PAGE = layout.dataOffset + layout.dataSize;

/** The page totals both paths report. */
type Totals = Omit<CountedPages, "caughtUp">;

/** Threads: tid -> [domain, vcpu]. */
type Threads = Record<number, [string, number]>;

function traces(threads: Threads, ringSize: number) {
  const byDomain = new Map<string, DomainTrace>();
  const owners = new Map(
    Object.entries(threads).map(([tid, [domain, vcpu]]) => {
      let trace = byDomain.get(domain);
      if (!trace) byDomain.set(domain, (trace = new DomainTrace(domain, 0, 1, ringSize)));
      return [Number(tid), { trace, vcpu }];
    }),
  );
  return { byDomain, owners };
}

/** What the full decoder says, and its page totals. */
function reference(pages: Uint8Array, formats: EventFormat[], threads: Threads, ringSize: number) {
  const decoder = new TraceDecoder(layout, header, formats);
  const classify = classifiers(formats);
  const { byDomain, owners } = traces(threads, ringSize);
  const totals: Totals = { pages: 0, records: 0, unknown: 0, unmatched: 0, lost: 0, corrupt: 0, bytes: 0 };
  for (const info of decoder.decodePages(pages, 0, (e) => {
    totals.records++;
    const o = owners.get(e.pid);
    if (!o) return void totals.unmatched++;
    o.trace.add(Number(e.timestamp) / 1e6 + OFFSET_MS, o.vcpu, e.event, classify.get(e.event)!(e.fields));
  })) {
    totals.pages++;
    totals.bytes += info.dataBytes;
    totals.unknown += info.unknown;
    totals.lost += Number(info.missedCount ?? 0n);
    if (info.error) totals.corrupt++;
  }
  return { byDomain, totals };
}

/** The counting path over the same pages, read `perRead` pages at a time into one reused buffer. */
function counted(
  pages: Uint8Array,
  formats: EventFormat[],
  threads: Threads,
  ringSize: number,
  perRead: number,
) {
  const decoder = new TraceDecoder(layout, header, formats);
  const counter = new PageCounter(decoder, formats, OFFSET_MS);
  const { byDomain, owners } = traces(threads, ringSize);
  counter.setThreads(owners);
  const buffer = new Uint8Array(PAGE * perRead);
  const totals: Totals = { pages: 0, records: 0, unknown: 0, unmatched: 0, lost: 0, corrupt: 0, bytes: 0 };
  let caughtUp = 0;
  for (let at = 0; at < pages.length; at += PAGE * perRead) {
    const chunk = pages.subarray(at, at + PAGE * perRead);
    buffer.set(chunk);
    const c = counter.count(buffer, chunk.length);
    buffer.fill(0xee); // the rings must have copied what they keep
    for (const k of Object.keys(totals) as (keyof Totals)[]) totals[k] += c[k];
    if (c.caughtUp) caughtUp++;
  }
  return { byDomain, totals, caughtUp };
}

function assertSame(
  pages: Uint8Array,
  formats: EventFormat[],
  threads: Threads,
  ringSize: number,
  perRead: number,
) {
  const want = reference(pages, formats, threads, ringSize);
  const got = counted(pages, formats, threads, ringSize, perRead);
  assert.deepEqual(got.totals, want.totals);
  assert.deepEqual([...got.byDomain.keys()], [...want.byDomain.keys()]);
  for (const [domain, w] of want.byDomain) {
    const g = got.byDomain.get(domain)!;
    assert.deepEqual(g.counts(1), w.counts(1), `${domain}: rows, totals, series`);
    assert.deepEqual(g.recent(ringSize), w.recent(ringSize), `${domain}: the ring`);
  }
  return got;
}

const m = manifest();
const steady = fixtureBytes(m.steady.file);
const pidOf = (pages: Uint8Array): number => {
  let pid = 0;
  new TraceDecoder(layout, header, allFormats()).decodePage(
    pages.subarray(0, PAGE),
    0,
    (e) => (pid ||= e.pid),
  );
  return pid;
};

test("the KVM guest's capture: counts, series and ring equal the full decoder's, in one read or cut at page boundaries", () => {
  const threads: Threads = { [pidOf(steady)]: ["guest", 0] };
  for (const [ring, perRead] of [
    [1024, 256],
    [1024, 5],
    [7, 1],
    [0, 3],
  ] as const) {
    const got = assertSame(steady, allFormats(), threads, ring, perRead);
    assert.equal(got.totals.records, 6072);
    assert.equal(got.byDomain.get("guest")!.recent(10_000).length, Math.min(ring, 6072));
  }
});

test("a page that is not full says the reader caught up with the writer (read on at the next poll)", () => {
  const partial = new TraceDecoder(layout, header, allFormats())
    .decodePages(steady, 0, () => {})
    .filter((p) => p.dataBytes < layout.dataSize - 512).length;
  assert.ok(partial > 0 && partial < steady.length / PAGE, "the capture has full and partial pages");
  const threads: Threads = { [pidOf(steady)]: ["guest", 0] };
  assert.equal(counted(steady, allFormats(), threads, 0, 1).caughtUp, partial);
});

test("the overflowed capture: the lost count the kernel stored is reported, the counts equal", () => {
  const lost = fixtureBytes(m.lost.file);
  const got = assertSame(lost, allFormats(), { [pidOf(lost)]: ["guest", 0] }, 1024, 2);
  assert.ok(got.totals.lost > 0);
});

test("built pages: both ISAs, MMIO above 2^53, MSRs, two domains, untraced threads and events, time extends", () => {
  const exit = format("kvm_exit");
  const mmio = format("kvm_mmio");
  const msr = format("kvm_msr");
  const pio = format("kvm_pio");
  const T0 = 9_000_000_000_000n;
  const b1 = new PageBuilder(layout, header, T0)
    .record(encodeRecord(exit, 11, { exit_reason: 0x8000_001e, isa: 1, guest_rip: 0xfff0n }), 10)
    .record(encodeRecord(exit, 11, { exit_reason: 30, isa: 1 }), 10)
    .record(encodeRecord(exit, 12, { exit_reason: 0x7b, isa: 2 }), 10)
    .record(encodeRecord(exit, 12, { exit_reason: 0xfff0, isa: 1 }), 10)
    .timeExtend(1_500_000_000n) // the next records fall in a later second
    .record(encodeRecord(mmio, 21, { type: 2, len: 4, gpa: 0xfee00000n, val: 1n }), 1)
    .record(encodeRecord(mmio, 21, { type: 1, len: 4, gpa: (1n << 60n) + 1n, val: 2n }), 1)
    .record(encodeRecord(mmio, 21, { type: 1, len: 4, gpa: (1n << 60n) + 2n, val: 3n }), 1)
    .record(encodeRecord(msr, 11, { write: 1, ecx: 0x1b, data: 1n << 62n, exception: 1 }), 1)
    .record(encodeRecord(pio, 99, { rw: 1, port: 0x80 }), 1) // a thread not traced
    .record(encodeRecord(format("kvm_fpu"), 11, { load: 1 }), 1) // an event not traced
    .build(7n);
  const b2 = new PageBuilder(layout, header, T0 + 3_000_000_000n);
  for (let i = 0; i < 50; i++)
    b2.record(encodeRecord(pio, 11 + (i % 2), { rw: i % 3 === 0 ? 0 : 1, port: i % 4 }), 3);
  const pages = new Uint8Array(2 * PAGE);
  pages.set(b1, 0);
  pages.set(b2.build(), PAGE);
  const threads: Threads = { 11: ["a", 0], 12: ["a", 1], 21: ["b", 0] };
  const got = assertSame(pages, [exit, mmio, msr, pio], threads, 16, 1);
  assert.deepEqual([got.totals.unknown, got.totals.unmatched, got.totals.lost], [1, 1, 7]);
  const b = got.byDomain.get("b")!.counts(1);
  assert.deepEqual(
    b.rows.map((r) => r.target).sort(),
    ["0x1000000000000001", "0x1000000000000002", "0xfee00000"],
    "gpa above 2^53 kept exact",
  );
  const reasons = got.byDomain
    .get("a")!
    .counts(1)
    .rows.filter((r) => r.event === "kvm_exit")
    .map((r) => r.reason);
  assert.deepEqual(reasons.sort(), ["#65520", "IO_INSTRUCTION", "IO_INSTRUCTION|FAILED_VMENTRY", "io"]);
});

test("corrupt records end their page as the full decoder's do, counting what came before", () => {
  const pio = encodeRecord(format("kvm_pio"), 11, { rw: 1, port: 0x80 });
  const T0 = 9_000_000_000_000n;
  const short = new PageBuilder(layout, header, T0)
    .record(pio)
    .record(pio.subarray(0, 8))
    .record(pio)
    .build();
  const pastCommit = new PageBuilder(layout, header, T0).record(pio).record(pio).build();
  new DataView(pastCommit.buffer).setUint32(layout.commitOffset, 8 + pio.length, true);
  const pages = new Uint8Array(2 * PAGE);
  pages.set(short, 0);
  pages.set(pastCommit, PAGE);
  const got = assertSame(pages, allFormats(), { 11: ["a", 0] }, 8, 2);
  assert.deepEqual([got.totals.corrupt, got.totals.records], [2, 2]);
});

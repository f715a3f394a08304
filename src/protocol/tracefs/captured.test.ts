/**
 * The decoder on ring-buffer pages captured on a lab machine (bench/tracer/record-fixtures.ts; kernel and date
 * in testdata/manifest.json): the KVM boot-sector guest's vCPU thread under a pid filter, a buffer left to
 * overflow, and trace_marker writes 200 ms apart. Padding and absolute-time records did not occur in these
 * captures; decoder.test.ts covers them on built pages.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TraceDecoder, type DecodedPage, type TraceEvent } from "./decoder.ts";
import { RingBufferCorruptError } from "./errors.ts";
import { allFormats, type Capture, fixtureBytes, header, layout, manifest } from "./testing/fixtures.ts";

const decoder = new TraceDecoder(layout, header, allFormats());
const m = manifest();

function decodeCapture(c: Capture): { pages: DecodedPage[]; events: TraceEvent[] } {
  const bytes = fixtureBytes(c.file);
  assert.equal(bytes.length, c.cpus.length * c.pageSize);
  const events: TraceEvent[] = [];
  const pages = c.cpus.map((cpu, i) =>
    decoder.decodePage(bytes.subarray(i * c.pageSize, (i + 1) * c.pageSize), cpu, (e) => events.push(e)),
  );
  return { pages, events };
}

test("the KVM guest's capture: every page decodes, one vCPU thread, kvm events only, time never goes back", () => {
  const { pages, events } = decodeCapture(m.steady);
  assert.deepEqual(
    pages.filter((p) => p.error || p.unknown || p.missedEvents),
    [],
  );
  assert.equal(
    events.length,
    pages.reduce((n, p) => n + p.records, 0),
  );
  assert.ok(events.length > 1000);
  assert.ok(
    pages.some((p) => p.dataBytes < 4000) && pages.some((p) => p.dataBytes > 4000),
    "partial and full pages",
  );
  assert.equal(new Set(events.map((e) => e.pid)).size, 1, "the pid filter kept one thread");
  const kinds = new Set(events.map((e) => e.event));
  assert.ok(kinds.has("kvm_emulate_insn"));
  for (const k of kinds) assert.match(k, /^kvm_/);
  // Across page boundaries too: the next page's base time is not before the last record of the previous one.
  const byCpu = new Map<number, bigint>();
  for (const e of events) {
    assert.ok(e.timestamp >= (byCpu.get(e.cpu) ?? 0n), `time went back on cpu ${e.cpu}`);
    byCpu.set(e.cpu, e.timestamp);
  }
  // The guest's boot loop is `out 0x80, al`: port 0x80, written, one byte.
  const pio = events.filter((x) => x.event === "kvm_pio");
  const post = pio.filter((x) => x.fields.port === 0x80 && x.fields.rw === 1 && x.fields.size === 1);
  assert.ok(pio.length > 0 && post.length / pio.length > 0.9, `${post.length} of ${pio.length} at port 0x80`);
  for (const e of events.filter((x) => x.event === "kvm_emulate_insn")) {
    const len = e.fields.len as number;
    assert.ok(len >= 1 && len <= 15);
    assert.equal((e.fields.insn as Uint8Array).length, 15);
  }
});

test("decoding a run of pages equals decoding them one by one; a cut page is a typed error", () => {
  const bytes = fixtureBytes(m.steady.file);
  const cpu = m.steady.cpus[0]!;
  let whole = 0;
  const infos = decoder.decodePages(bytes, cpu, () => whole++);
  assert.equal(infos.length, m.steady.cpus.length);
  assert.equal(whole, decodeCapture(m.steady).events.length);
  const full = infos.findIndex((p) => p.dataBytes > 4000);
  const cut = bytes.subarray(0, full * m.steady.pageSize + 2000);
  const last = decoder.decodePages(cut, cpu, () => {}).at(-1)!;
  assert.ok(last.error instanceof RingBufferCorruptError);
});

test("the overflowed buffer's first page says events were lost, with the count the kernel stored", () => {
  const { pages } = decodeCapture(m.lost);
  assert.equal(pages[0]!.missedEvents, true);
  assert.ok((pages[0]!.missedCount ?? 0n) > 0n);
  assert.deepEqual(
    pages.slice(1).filter((p) => p.missedEvents || p.error),
    [],
  );
});

test("markers 200 ms apart need time-extend records, and their times keep the gaps", () => {
  const { pages, events } = decodeCapture(m.markers);
  assert.ok(pages.reduce((n, p) => n + p.timeRecords, 0) > 0);
  const sorted = events.toSorted((a, b) => (a.timestamp < b.timestamp ? -1 : 1));
  assert.deepEqual(
    sorted.map((e) => e.fields.buf),
    [0, 1, 2, 3, 4].map((n) => `kvmon fixture marker ${n}\n`),
  );
  for (let i = 1; i < sorted.length; i++) {
    const gap = sorted[i]!.timestamp - sorted[i - 1]!.timestamp;
    assert.ok(gap > 190_000_000n && gap < 400_000_000n, `gap ${gap} ns`);
  }
});

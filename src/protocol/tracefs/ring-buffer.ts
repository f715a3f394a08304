/**
 * The ftrace ring-buffer page, as `per_cpu/cpuN/trace_pipe_raw` hands it out (kernel/trace/ring_buffer.c):
 * a page header (the page's base timestamp; a commit word holding the data length in its low 27 bits, bit 31
 * "events were lost before this page" and bit 30 "their count is stored after the data"), then the data: a run
 * of events, each a 32-bit header (type_len in the low bits, time_delta above) and a body:
 * - type_len 1..28: a record of type_len x 4 bytes;
 * - type_len 0: a record whose length (itself included) is in the next u32;
 * - padding (29): a discarded record of array[0] + 4 bytes, or, with time_delta 0, "nothing more on this page";
 * - time extend (30): adds (array[0] << 27) + time_delta to the running time;
 * - time stamp (31): an absolute time, whose 5 top bits come from the page timestamp.
 * Every record's time is the page timestamp plus the deltas so far (a padding's delta counts too: the writer
 * took its time before it was discarded). The walk hands each record its time as a plain number of ns after the
 * page timestamp (exact: a page spans far less than 2^53 ns), so it needs no bigint per record; callers that
 * want the absolute time add the page timestamp. Every read is bounds-checked against the commit: a corrupt
 * page ends in a RingBufferCorruptError in the result, with the records before it kept, and the walk always
 * advances.
 */
import type { EventHeaderLayout, PageLayout } from "./format.ts";
import { RingBufferCorruptError } from "./errors.ts";

/** Bits of the commit word (RB_MISSED_EVENTS, RB_MISSED_STORED) and the length below them. */
const MISSED_EVENTS = 0x8000_0000;
const MISSED_STORED = 0x4000_0000;
const COMMIT_MASK = (1 << 27) - 1;
/** The top bits of an absolute timestamp that the record cannot hold (TS_MSB). */
const TS_MSB = 0xf8n << 56n;

export interface PageInfo {
  /** The page's base timestamp (trace clock, ns for the nanosecond clocks). */
  timestamp: bigint;
  /** Bytes of data committed on the page. */
  dataBytes: number;
  /** Events were lost (overwritten or dropped) between the previous page read and this one. */
  missedEvents: boolean;
  /** How many, when the kernel had room to store the count after the data. */
  missedCount: bigint | undefined;
  /** Data records seen (padding and time records excluded). */
  records: number;
  /** Time-extend and absolute-time records seen. */
  timeRecords: number;
  /** Padding (discarded) records seen. */
  paddings: number;
  /** Why decoding stopped early; records before it were delivered. */
  error: RingBufferCorruptError | undefined;
}

/**
 * Called for each data record: where its body (starting with common_type) sits in the page's view, and its time
 * in ns after the page timestamp.
 */
export type RecordVisitor = (view: DataView, offset: number, length: number, sincePage: number) => void;

/** The page's base timestamp (trace clock). */
export function pageTimestamp(page: Uint8Array, layout: PageLayout): bigint {
  return new DataView(page.buffer, page.byteOffset, page.byteLength).getBigUint64(
    layout.timestampOffset,
    true,
  );
}

/** Walks one page; `page` must be exactly one page (layout.dataOffset + layout.dataSize bytes, or less). */
export function walkPage(
  page: Uint8Array,
  layout: PageLayout,
  header: EventHeaderLayout,
  visit: RecordVisitor,
): PageInfo {
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const info: PageInfo = {
    timestamp: 0n,
    dataBytes: 0,
    missedEvents: false,
    missedCount: undefined,
    records: 0,
    timeRecords: 0,
    paddings: 0,
    error: undefined,
  };
  const fail = (message: string, at: number): PageInfo => {
    info.error = new RingBufferCorruptError(message, at);
    return info;
  };
  if (page.byteLength < layout.dataOffset) return fail(`a page of ${page.byteLength} bytes has no header`, 0);
  info.timestamp = view.getBigUint64(layout.timestampOffset, true);
  const commit = view.getUint32(layout.commitOffset, true);
  const length = commit & COMMIT_MASK;
  info.dataBytes = length;
  info.missedEvents = (commit & MISSED_EVENTS) !== 0;
  const start = layout.dataOffset;
  const end = start + length;
  if (length > layout.dataSize || end > page.byteLength) {
    return fail(
      `commit says ${length} bytes of data, the page holds ${page.byteLength - start}`,
      layout.commitOffset,
    );
  }
  if (info.missedEvents && (commit & MISSED_STORED) !== 0) {
    if (end + layout.commitSize > page.byteLength) return fail("missed-event count past the page", end);
    info.missedCount =
      layout.commitSize === 8 ? view.getBigUint64(end, true) : BigInt(view.getUint32(end, true));
  }
  const typeMask = (1 << header.typeLenBits) - 1;
  const extendUnit = 2 ** header.timeDeltaBits;
  let since = 0;
  let off = start;
  while (off < end) {
    if (off + 4 > end) return fail("an event header past the commit", off);
    const word = view.getUint32(off, true);
    const typeLen = word & typeMask;
    const delta = word >>> header.typeLenBits;
    if (typeLen === header.padding) {
      if (delta === 0) break;
      if (off + 8 > end) return fail("a padding record past the commit", off);
      const size = view.getUint32(off + 4, true) + 4;
      if (size < 8 || off + size > end) return fail(`a padding record of ${size} bytes`, off);
      since += delta;
      info.paddings++;
      off += size;
    } else if (typeLen === header.timeExtend || typeLen === header.timeStamp) {
      if (off + 8 > end) return fail("a time record past the commit", off);
      const high = view.getUint32(off + 4, true);
      if (typeLen === header.timeExtend) since += high * extendUnit + delta;
      else {
        // rb_fix_abs_ts: the record keeps 59 bits; the rest comes from the page, with a carry on wrap.
        const value = (BigInt(high) << BigInt(header.timeDeltaBits)) + BigInt(delta);
        let abs = value | (info.timestamp & TS_MSB);
        if (abs < info.timestamp) abs += 1n << 59n;
        since = Number(abs - info.timestamp);
      }
      info.timeRecords++;
      off += 8;
    } else if (typeLen === 0) {
      if (off + 8 > end) return fail("a long record's length past the commit", off);
      const size = view.getUint32(off + 4, true);
      const total = 4 + ((size + 3) & ~3);
      if (size < 4 || off + total > end) return fail(`a long record of ${size} bytes`, off);
      since += delta;
      info.records++;
      visit(view, off + 8, size - 4, since);
      off += total;
    } else if (typeLen <= header.dataMaxTypeLen) {
      const size = typeLen * 4;
      if (off + 4 + size > end) return fail(`a record of ${size} bytes past the commit`, off);
      since += delta;
      info.records++;
      visit(view, off + 4, size, since);
      off += 4 + size;
    } else {
      return fail(`event type ${typeLen} is none the header_event knows`, off);
    }
  }
  return info;
}

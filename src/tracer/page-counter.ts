/**
 * The tracer's counting path: counts the records of ring-buffer pages into each domain's rows without decoding
 * them. Per record it reads, straight from the page, only what the counts need: the event id, the thread id
 * (-> domain and vCPU), the few integer fields the event's rule names its reason from, the target field (port,
 * MMIO address, MSR) and the time for the per-second series; readers are compiled from the format files
 * (readers.ts: numbers, no bigint), reasons are named once per distinct field value, and rows are found
 * through arrays and number-keyed maps kept per thread, so no object or string is made per record. The ring of
 * recent events only notes where each record sits; `keep` copies the ones still in a ring before the buffer
 * is reused, and they are decoded in full only when the ring is read.
 *
 * Exactness: the counts equal the full decoder's. Whatever the fast readers cannot read exactly takes the
 * full decoder and the same rule: an 8-byte value beyond 2^53, reason or target fields that are not plain
 * integers, more distinct reasons than the cache keeps. A record that does not hold what its format says ends
 * the page as corrupt, as in the full decoder.
 */
import {
  type EventFormat,
  type FieldValue,
  numberReader,
  type NumberReader,
  RingBufferCorruptError,
  recordMinLength,
  type TraceDecoder,
} from "../protocol/tracefs/index.ts";
import { classifyBy, type Classifier, type EventRule, hex, rule } from "./classify.ts";
import type { DomainTrace, Row } from "./domain-trace.ts";
import type { Materialize } from "./recent-ring.ts";

/** What a traced thread belongs to. */
export interface Owner {
  trace: DomainTrace;
  vcpu: number;
}

/**
 * A page with more free room than this was still being written when read: trace_pipe_raw hands out the page the
 * kernel is filling with what it holds so far (a full page ends when the next record does not fit).
 */
const FULL_PAGE_SLACK = 512;

/** Distinct reasons (per event) and targets (per thread and reason) remembered; past them, the slow path. */
const MAX_CACHED = 4096;

/** Reason ids by the values of the reason fields, one level per field. */
type ReasonTree = Map<number, ReasonTree | number>;

interface EventPlan {
  /** The event id (the index of its cells per thread). */
  id: number;
  name: string;
  minLength: number;
  rule: EventRule;
  classify: Classifier;
  /** Readers of the reason fields; undefined when one is not a plain integer (every record decoded then). */
  reasonReaders: NumberReader[] | undefined;
  /** Which reason fields are 8 bytes (given to the rule as bigint, as the full decoder gives them). */
  wide: boolean[];
  reasonTree: ReasonTree;
  /** Reason names by id. */
  reasons: string[];
  reasonIds: Map<string, number>;
  /** The target's reader; null for an event not counted per target; undefined when not a plain integer. */
  target: NumberReader | null | undefined;
  /** Dynamic arrays: where their location word sits, checked against the record as the full decoder does. */
  dynamic: { offset: number; relative: number }[];
}

/** Per thread, per event: by reason id, the row (no target) or rows by target. */
type Cells = (Row | Map<number, Row> | undefined)[];

interface ThreadState extends Owner {
  cells: (Cells | undefined)[];
}

/** What one run of pages held. */
export interface CountedPages {
  pages: number;
  /** Records of the traced events. */
  records: number;
  /** Records of event ids not traced. */
  unknown: number;
  /** Records of threads not traced (read after a filter change). */
  unmatched: number;
  /** Lost counts the pages carried. */
  lost: number;
  /** Pages that ended early as corrupt. */
  corrupt: number;
  /** Bytes of records the pages held. */
  bytes: number;
  /** A page was not full: the reader reached the page the kernel is writing (read more later, not now). */
  caughtUp: boolean;
}

export class PageCounter {
  readonly #decoder: TraceDecoder;
  /** Event plans by event id. */
  readonly #plans: (EventPlan | undefined)[] = [];
  /** Trace clock ns -> epoch ms: ms = ns / 1e6 + offsetMs. */
  readonly #offsetMs: number;
  readonly materialize: Materialize;
  #threads = new Map<number, ThreadState>();
  // The page being counted.
  #pageAt = 0;
  #pageNs = 0;
  #error = false;
  #lastPid = Number.NaN;
  #lastThread: ThreadState | undefined;
  #out: CountedPages = emptyCount();

  constructor(decoder: TraceDecoder, formats: readonly EventFormat[], offsetMs: number) {
    this.#decoder = decoder;
    this.#offsetMs = offsetMs;
    for (const f of formats) this.#plans[f.id] = plan(f);
    const byName = new Map(formats.map((f) => [f.name, this.#plans[f.id]!]));
    this.materialize = (view, length) => {
      let record;
      try {
        record = decoder.decodeRecord(view, 0, length);
      } catch {
        return undefined; // counted records passed the same checks: not expected
      }
      const p = record && byName.get(record.event);
      if (!record || !p) return undefined;
      const c = p.classify(record.fields);
      return { event: record.event, reason: c.reason, details: c.details };
    };
  }

  /** The traced threads: thread id -> domain and vCPU. */
  setThreads(threads: ReadonlyMap<number, Owner>): void {
    this.#threads = new Map([...threads].map(([tid, o]) => [tid, { ...o, cells: [] }]));
    this.#lastPid = Number.NaN;
    this.#lastThread = undefined;
  }

  /** Counts the whole pages in `buffer` (bytes 0..length) read from one CPU; then keeps the rings' records. */
  count(buffer: Uint8Array, length: number): CountedPages {
    const out = (this.#out = emptyCount());
    const pageSize = this.#decoder.pageSize;
    for (let at = 0; at + pageSize <= length; at += pageSize) {
      const page = buffer.subarray(at, at + pageSize);
      this.#pageAt = at;
      this.#pageNs = Number(this.#decoder.pageTimestamp(page));
      this.#error = false;
      const info = this.#decoder.walk(page, this.#visit);
      out.pages++;
      out.bytes += info.dataBytes;
      if (info.dataBytes < this.#decoder.dataSize - FULL_PAGE_SLACK) out.caughtUp = true;
      if (info.missedCount !== undefined) out.lost += Number(info.missedCount);
      if (info.error || this.#error) out.corrupt++;
    }
    const kept = new Set<DomainTrace>();
    for (const t of this.#threads.values()) {
      if (kept.has(t.trace)) continue;
      kept.add(t.trace);
      t.trace.ring.keep(buffer, this.materialize);
    }
    return out;
  }

  readonly #visit = (view: DataView, offset: number, length: number, sincePage: number): void => {
    if (this.#error) return;
    const out = this.#out;
    if (length < this.#decoder.typeEnd) {
      this.#error = true;
      return;
    }
    const p = this.#plans[this.#decoder.type(view, offset)];
    if (p === undefined) {
      out.unknown++;
      return;
    }
    if (length < p.minLength || !dynamicFits(p, view, offset, length)) {
      this.#error = true;
      return;
    }
    out.records++;
    const pid = this.#decoder.pid(view, offset);
    let t = this.#lastThread;
    if (pid !== this.#lastPid) {
      t = this.#lastThread = this.#threads.get(pid);
      this.#lastPid = pid;
    }
    if (t === undefined) {
      out.unmatched++;
      return;
    }
    const row = this.#row(t, p, view, offset, length);
    if (row === undefined) {
      this.#error = true;
      return;
    }
    const time = (this.#pageNs + sincePage) / 1e6 + this.#offsetMs;
    t.trace.count(row, time);
    t.trace.ring.note(time, t.vcpu, this.#pageAt + offset, length);
  };

  /** The row a record counts in; undefined when the record turns out corrupt. */
  #row(t: ThreadState, p: EventPlan, view: DataView, offset: number, length: number): Row | undefined {
    const id = p.id;
    const reason = p.reasonReaders === undefined ? -1 : reasonId(p, view, offset);
    if (reason < 0 || p.target === undefined) return this.#slowRow(t, p, view, offset, length);
    const cells = (t.cells[id] ??= []);
    if (p.target === null)
      return (
        (cells[reason] as Row | undefined) ??
        (cells[reason] = t.trace.row(t.vcpu, p.name, p.reasons[reason]!, ""))
      );
    const target = p.target(view, offset);
    if (target !== target) return this.#slowRow(t, p, view, offset, length);
    let byTarget = cells[reason] as Map<number, Row> | undefined;
    if (byTarget === undefined) cells[reason] = byTarget = new Map();
    let row = byTarget.get(target);
    if (row === undefined) {
      row = t.trace.row(t.vcpu, p.name, p.reasons[reason]!, hex(target));
      if (byTarget.size < MAX_CACHED) byTarget.set(target, row);
    }
    return row;
  }

  /** The full decoder and the event's rule, for what the fast readers cannot read exactly. */
  #slowRow(t: ThreadState, p: EventPlan, view: DataView, offset: number, length: number): Row | undefined {
    let fields: Record<string, FieldValue>;
    try {
      const record = this.#decoder.decodeRecord(view, offset, length);
      if (!record) return undefined;
      fields = record.fields;
    } catch (e) {
      if (e instanceof RingBufferCorruptError) return undefined;
      throw e;
    }
    const c = p.classify(fields);
    return t.trace.row(t.vcpu, p.name, c.reason, c.target);
  }
}

const emptyCount = (): CountedPages => ({
  pages: 0,
  records: 0,
  unknown: 0,
  unmatched: 0,
  lost: 0,
  corrupt: 0,
  bytes: 0,
  caughtUp: false,
});

/** The reason's id (named and cached at the first sight of its values); -1 for the slow path. */
function reasonId(p: EventPlan, view: DataView, offset: number): number {
  const readers = p.reasonReaders!;
  if (readers.length === 0) return 0;
  let node = p.reasonTree;
  const last = readers.length - 1;
  for (let i = 0; i < last; i++) {
    const v = readers[i]!(view, offset);
    if (v !== v) return -1;
    let next = node.get(v) as ReasonTree | undefined;
    if (next === undefined) node.set(v, (next = new Map()));
    node = next;
  }
  const v = readers[last]!(view, offset);
  if (v !== v) return -1;
  const id = node.get(v) as number | undefined;
  if (id !== undefined) return id;
  if (p.reasons.length >= MAX_CACHED) return -1;
  const values: Record<string, FieldValue> = {};
  p.rule.reasonFields.forEach((name, i) => {
    const x = readers[i]!(view, offset);
    values[name] = p.wide[i] ? BigInt(x) : x;
  });
  const named = internReason(p, p.rule.reason(values));
  node.set(v, named);
  return named;
}

function internReason(p: EventPlan, reason: string): number {
  let id = p.reasonIds.get(reason);
  if (id === undefined) {
    id = p.reasons.push(reason) - 1;
    p.reasonIds.set(reason, id);
  }
  return id;
}

/** Whether the record's dynamic arrays lie inside it (the full decoder's check, without reading them). */
function dynamicFits(p: EventPlan, view: DataView, offset: number, length: number): boolean {
  for (const d of p.dynamic) {
    const loc = view.getUint32(offset + d.offset, true);
    if ((loc & 0xffff) + d.relative + (loc >>> 16) > length) return false;
  }
  return true;
}

function plan(format: EventFormat): EventPlan {
  const r = rule(format);
  const byName = new Map(format.fields.map((f) => [f.name, f]));
  const reasonFields = r.reasonFields.map((n) => byName.get(n));
  const plainInt = reasonFields.every((f) => f?.kind === "int");
  const target = r.targetField === undefined ? undefined : byName.get(r.targetField);
  const reasons = reasonFields.length === 0 ? [r.reason({})] : [];
  return {
    id: format.id,
    name: format.name,
    minLength: recordMinLength(format),
    rule: r,
    classify: classifyBy(r),
    reasonReaders: plainInt ? reasonFields.map((f) => numberReader(f!)) : undefined,
    wide: reasonFields.map((f) => f?.size === 8),
    reasonTree: new Map(),
    reasons,
    reasonIds: new Map(reasons.map((name, i) => [name, i])),
    target: r.targetField === undefined ? null : target?.kind === "int" ? numberReader(target) : undefined,
    dynamic: format.fields
      .filter((f) => f.kind === "data_loc" || f.kind === "rel_loc")
      .map((f) => ({ offset: f.offset, relative: f.kind === "rel_loc" ? f.offset + f.size : 0 })),
  };
}

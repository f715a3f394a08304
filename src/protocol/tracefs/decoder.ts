/**
 * Decodes ring-buffer records into events from the events' own `format` descriptions: one reader per field,
 * compiled once per event (readers.ts). No layout is written here and no text is parsed per record. A decoder
 * also walks pages for callers that read only some fields (the tracer's counting path): `walk` with the
 * record type and pid readers, and `decodeRecord` to decode one record later.
 */
import type { EventHeaderLayout, EventFormat, PageLayout } from "./format.ts";
import { RingBufferCorruptError } from "./errors.ts";
import {
  type FieldValue,
  numberReader,
  type NumberReader,
  type Reader,
  fieldReader,
  recordMinLength,
} from "./readers.ts";
import { type PageInfo, pageTimestamp, type RecordVisitor, walkPage } from "./ring-buffer.ts";

export interface TraceEvent {
  /** The event's name, e.g. "kvm_pio". */
  event: string;
  /** When the kernel recorded it, in trace-clock units (ns for the nanosecond clocks such as "mono"). */
  timestamp: bigint;
  cpu: number;
  /** common_pid: the thread id that was running. */
  pid: number;
  /** The event's own fields by name. */
  fields: Record<string, FieldValue>;
}

/** One record's event, thread and fields. */
export interface DecodedRecord {
  event: string;
  pid: number;
  fields: Record<string, FieldValue>;
}

/** One event's compiled readers. */
export interface CompiledEvent {
  format: EventFormat;
  /** Bytes the fixed part of a record takes; a shorter record is corrupt. */
  minLength: number;
  readers: [string, Reader][];
}

export function compileEvent(format: EventFormat): CompiledEvent {
  return {
    format,
    minLength: recordMinLength(format),
    readers: format.fields.map((f) => [f.name, fieldReader(f)]),
  };
}

export interface DecodedPage extends PageInfo {
  cpu: number;
  /** Records of event ids this decoder was not given (counted, not decoded). */
  unknown: number;
}

/**
 * Decodes pages of one tracefs (one kernel): the page and event-header layouts and the formats of the events
 * to decode. The record type and pid are read through the common fields of the formats, not fixed offsets.
 */
export class TraceDecoder {
  readonly #layout: PageLayout;
  readonly #header: EventHeaderLayout;
  readonly #events = new Map<number, CompiledEvent>();
  /** Reads a record's common_type (the event id). */
  readonly type: NumberReader;
  /** Reads a record's common_pid (the thread that was running; 0 when the formats have no pid). */
  readonly pid: NumberReader;
  /** Bytes a record needs to hold its type. */
  readonly typeEnd: number;

  constructor(layout: PageLayout, header: EventHeaderLayout, formats: readonly EventFormat[]) {
    this.#layout = layout;
    this.#header = header;
    if (formats.length === 0) throw new RangeError("a TraceDecoder needs at least one event format");
    for (const f of formats) this.#events.set(f.id, compileEvent(f));
    const common = formats[0]!.common;
    const type = common.find((f) => f.name === "common_type")!;
    const pid = common.find((f) => f.name === "common_pid");
    this.type = numberReader({ ...type, signed: false });
    this.pid = pid ? numberReader(pid) : () => 0;
    this.typeEnd = type.offset + type.size;
  }

  /** Bytes of one page, as trace_pipe_raw returns them. */
  get pageSize(): number {
    return this.#layout.dataOffset + this.#layout.dataSize;
  }

  /** Bytes of data one page holds. */
  get dataSize(): number {
    return this.#layout.dataSize;
  }

  /** The page's base timestamp: a record's time is this plus the `sincePage` its visitor was given. */
  pageTimestamp(page: Uint8Array): bigint {
    return pageTimestamp(page, this.#layout);
  }

  /** Walks one page's records without decoding them (the caller reads what it needs). */
  walk(page: Uint8Array, visit: RecordVisitor): PageInfo {
    return walkPage(page, this.#layout, this.#header, visit);
  }

  /**
   * Decodes one record's body (`length` bytes at `offset`, common fields first): undefined for an event id this
   * decoder was not given; RingBufferCorruptError when the record does not hold what its format says.
   */
  decodeRecord(view: DataView, offset: number, length: number): DecodedRecord | undefined {
    if (length < this.typeEnd)
      throw new RingBufferCorruptError(`a record of ${length} bytes has no type`, offset);
    const ev = this.#events.get(this.type(view, offset));
    if (!ev) return undefined;
    if (length < ev.minLength) {
      throw new RingBufferCorruptError(`a ${ev.format.name} record of ${length} bytes`, offset);
    }
    const fields: Record<string, FieldValue> = {};
    for (const [name, read] of ev.readers) fields[name] = read(view, offset, length);
    return { event: ev.format.name, pid: this.pid(view, offset), fields };
  }

  /** Decodes one page read from `cpu`, passing each event to `emit`; the result says what the page held. */
  decodePage(page: Uint8Array, cpu: number, emit: (event: TraceEvent) => void): DecodedPage {
    let unknown = 0;
    let error: RingBufferCorruptError | undefined;
    const base = page.byteLength >= this.#layout.dataOffset ? this.pageTimestamp(page) : 0n;
    const info = this.walk(page, (view, offset, length, sincePage) => {
      if (error) return;
      let record: DecodedRecord | undefined;
      try {
        record = this.decodeRecord(view, offset, length);
      } catch (e) {
        error =
          e instanceof RingBufferCorruptError
            ? e
            : new RingBufferCorruptError(String(e), offset, { cause: e });
        return;
      }
      if (!record) {
        unknown++;
        return;
      }
      emit({
        event: record.event,
        timestamp: base + BigInt(sincePage),
        cpu,
        pid: record.pid,
        fields: record.fields,
      });
    });
    return { ...info, error: info.error ?? error, cpu, unknown };
  }

  /** Decodes a run of whole pages (what one or more reads of trace_pipe_raw returned). */
  decodePages(pages: Uint8Array, cpu: number, emit: (event: TraceEvent) => void): DecodedPage[] {
    const out: DecodedPage[] = [];
    for (let at = 0; at < pages.byteLength; at += this.pageSize) {
      out.push(this.decodePage(pages.subarray(at, at + this.pageSize), cpu, emit));
    }
    return out;
  }
}

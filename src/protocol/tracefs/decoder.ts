/**
 * Decodes ring-buffer records into events from the events' own `format` descriptions: one reader per field,
 * compiled once per event (integers by size and signedness, u64/s64 as bigint; char arrays and dynamic char
 * arrays as strings; other arrays as bytes). No layout is written here and no text is parsed per record.
 */
import type { EventHeaderLayout, EventFormat, FieldFormat, PageLayout } from "./format.ts";
import { RingBufferCorruptError } from "./errors.ts";
import { decodePage, type PageInfo } from "./ring-buffer.ts";

export type FieldValue = number | bigint | string | Uint8Array;

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

type Reader = (view: DataView, base: number, length: number) => FieldValue;

const latin1 = new TextDecoder("latin1");

function text(view: DataView, start: number, length: number): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + start, length);
  const nul = bytes.indexOf(0);
  return latin1.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

function bytesAt(view: DataView, start: number, length: number): Uint8Array {
  return new Uint8Array(view.buffer.slice(view.byteOffset + start, view.byteOffset + start + length));
}

function intReader(offset: number, size: number, signed: boolean): Reader {
  switch (size) {
    case 1:
      return signed ? (v, b) => v.getInt8(b + offset) : (v, b) => v.getUint8(b + offset);
    case 2:
      return signed ? (v, b) => v.getInt16(b + offset, true) : (v, b) => v.getUint16(b + offset, true);
    case 4:
      return signed ? (v, b) => v.getInt32(b + offset, true) : (v, b) => v.getUint32(b + offset, true);
    default:
      return signed ? (v, b) => v.getBigInt64(b + offset, true) : (v, b) => v.getBigUint64(b + offset, true);
  }
}

/** Reads a dynamic array: where it sits, checked against the record, then as a string or bytes. */
function dynamicReader(f: FieldFormat): Reader {
  return (v, b, length) => {
    const loc = v.getUint32(b + f.offset, true);
    const start = (loc & 0xffff) + (f.kind === "rel_loc" ? f.offset + f.size : 0);
    const len = loc >>> 16;
    if (start + len > length) {
      throw new RingBufferCorruptError(
        `field ${f.name}: ${len} bytes at ${start} past a ${length}-byte record`,
        b,
      );
    }
    return f.isString ? text(v, b + start, len) : bytesAt(v, b + start, len);
  };
}

function fieldReader(f: FieldFormat): Reader {
  switch (f.kind) {
    case "int":
      return intReader(f.offset, f.size, f.signed);
    case "array":
      return f.isString
        ? (v, b) => text(v, b + f.offset, f.size)
        : (v, b) => bytesAt(v, b + f.offset, f.size);
    case "rest":
      return f.isString
        ? (v, b, length) => text(v, b + f.offset, Math.max(0, length - f.offset))
        : (v, b, length) => bytesAt(v, b + f.offset, Math.max(0, length - f.offset));
    default:
      return dynamicReader(f);
  }
}

/** One event's compiled readers. */
export interface CompiledEvent {
  format: EventFormat;
  /** Bytes the fixed part of a record takes; a shorter record is corrupt. */
  minLength: number;
  readers: [string, Reader][];
}

export function compileEvent(format: EventFormat): CompiledEvent {
  const all = [...format.common, ...format.fields];
  const minLength = Math.max(...all.map((f) => (f.kind === "rest" ? f.offset : f.offset + f.size)));
  return { format, minLength, readers: format.fields.map((f) => [f.name, fieldReader(f)]) };
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
  readonly #type: Reader;
  readonly #pid: Reader;

  constructor(layout: PageLayout, header: EventHeaderLayout, formats: readonly EventFormat[]) {
    this.#layout = layout;
    this.#header = header;
    if (formats.length === 0) throw new RangeError("a TraceDecoder needs at least one event format");
    for (const f of formats) this.#events.set(f.id, compileEvent(f));
    const common = formats[0]!.common;
    const type = common.find((f) => f.name === "common_type")!;
    const pid = common.find((f) => f.name === "common_pid");
    this.#type = intReader(type.offset, type.size, false);
    this.#pid = pid ? intReader(pid.offset, pid.size, pid.signed) : () => 0;
  }

  /** Bytes of one page, as trace_pipe_raw returns them. */
  get pageSize(): number {
    return this.#layout.dataOffset + this.#layout.dataSize;
  }

  /** Decodes one page read from `cpu`, passing each event to `emit`; the result says what the page held. */
  decodePage(page: Uint8Array, cpu: number, emit: (event: TraceEvent) => void): DecodedPage {
    let unknown = 0;
    let error: RingBufferCorruptError | undefined;
    const info = decodePage(page, this.#layout, this.#header, (timestamp, view, offset, length) => {
      if (error) return;
      if (length < 2) {
        error = new RingBufferCorruptError(`a record of ${length} bytes has no type`, offset);
        return;
      }
      const ev = this.#events.get(this.#type(view, offset, length) as number);
      if (!ev) {
        unknown++;
        return;
      }
      if (length < ev.minLength) {
        error = new RingBufferCorruptError(`a ${ev.format.name} record of ${length} bytes`, offset);
        return;
      }
      const fields: Record<string, FieldValue> = {};
      try {
        for (const [name, read] of ev.readers) fields[name] = read(view, offset, length);
      } catch (e) {
        error =
          e instanceof RingBufferCorruptError
            ? e
            : new RingBufferCorruptError(String(e), offset, { cause: e });
        return;
      }
      emit({ event: ev.format.name, timestamp, cpu, pid: this.#pid(view, offset, length) as number, fields });
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

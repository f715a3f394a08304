/**
 * Field readers compiled from an event's `format` description: one closure per field, reading the record's
 * bytes at the field's offset by its size and signedness. Two kinds: `fieldReader` gives a field's full value
 * (integers, u64/s64 as bigint, char arrays as strings, other arrays as bytes) for decoded events;
 * `numberReader` gives an integer field as a plain number for the counting path, where a bigint per record
 * would cost more than the rest of the work (NaN when an 8-byte value is beyond 2^53 and a number would not be
 * exact: the caller takes its slow path then).
 */
import type { EventFormat, FieldFormat } from "./format.ts";
import { RingBufferCorruptError } from "./errors.ts";

export type FieldValue = number | bigint | string | Uint8Array;

/** Reads one field of the record whose body starts at `base` and is `length` bytes long. */
export type Reader = (view: DataView, base: number, length: number) => FieldValue;

/** Reads one integer field as a number (NaN when it is not exact: an 8-byte value beyond 2^53). */
export type NumberReader = (view: DataView, base: number) => number;

const latin1 = new TextDecoder("latin1");
const TWO32 = 2 ** 32;
/** The high word of a u64 below 2^53. */
const SAFE_HIGH = 2 ** 21;

function text(view: DataView, start: number, length: number): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + start, length);
  const nul = bytes.indexOf(0);
  return latin1.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

function bytesAt(view: DataView, start: number, length: number): Uint8Array {
  return new Uint8Array(view.buffer.slice(view.byteOffset + start, view.byteOffset + start + length));
}

/** An integer field as a number (1, 2, 4 bytes) or a bigint (8 bytes). */
function intReader(offset: number, size: number, signed: boolean): Reader {
  switch (size) {
    case 1:
    case 2:
    case 4:
      return numberReader({ offset, size, signed });
    default:
      return signed ? (v, b) => v.getBigInt64(b + offset, true) : (v, b) => v.getBigUint64(b + offset, true);
  }
}

/** An integer field as a number; 8-byte values from their two words, NaN beyond 2^53 (not exact). */
export function numberReader(f: Pick<FieldFormat, "offset" | "size" | "signed">): NumberReader {
  const offset = f.offset;
  switch (f.size) {
    case 1:
      return f.signed ? (v, b) => v.getInt8(b + offset) : (v, b) => v.getUint8(b + offset);
    case 2:
      return f.signed ? (v, b) => v.getInt16(b + offset, true) : (v, b) => v.getUint16(b + offset, true);
    case 4:
      return f.signed ? (v, b) => v.getInt32(b + offset, true) : (v, b) => v.getUint32(b + offset, true);
    default:
      return f.signed
        ? (v, b) => {
            const high = v.getInt32(b + offset + 4, true);
            return high >= SAFE_HIGH || high < -SAFE_HIGH
              ? Number.NaN
              : high * TWO32 + v.getUint32(b + offset, true);
          }
        : (v, b) => {
            const high = v.getUint32(b + offset + 4, true);
            return high >= SAFE_HIGH ? Number.NaN : high * TWO32 + v.getUint32(b + offset, true);
          };
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

/** A field's full value. */
export function fieldReader(f: FieldFormat): Reader {
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

/** Bytes the fixed part of an event's record takes; a shorter record is corrupt. */
export function recordMinLength(format: EventFormat): number {
  const all = [...format.common, ...format.fields];
  return Math.max(...all.map((f) => (f.kind === "rest" ? f.offset : f.offset + f.size)));
}

/**
 * Builds ring-buffer pages and records for tests, from the same format descriptions the decoder reads: records
 * this machine cannot produce (kvm_exit of either ISA: kvm_pvm never fires it) and page shapes a short capture
 * may not hold (absolute-time records, padding, a corrupt commit). The encoding mirrors
 * kernel/trace/ring_buffer.c: type_len = body / 4 up to the data max, else type_len 0 and a length word.
 */
import type { EventFormat, EventHeaderLayout, FieldValue, PageLayout } from "../index.ts";

/** Encodes one record's body: common fields (type = the event id, pid) then `values` at the format's offsets. */
export function encodeRecord(
  format: EventFormat,
  pid: number,
  values: Record<string, FieldValue>,
): Uint8Array {
  const all = [...format.common, ...format.fields];
  let size = Math.max(...all.map((f) => f.offset + f.size));
  for (const v of Object.values(values))
    if (typeof v === "string" || v instanceof Uint8Array) size += v.length + 1;
  const body = new Uint8Array((size + 3) & ~3);
  const view = new DataView(body.buffer);
  let tail = Math.max(...all.map((f) => f.offset + f.size));
  const put = (offset: number, bytes: number, signed: boolean, v: number | bigint): void => {
    if (bytes === 8) view.setBigUint64(offset, BigInt.asUintN(64, BigInt(v)), true);
    else if (bytes === 4) (signed ? view.setInt32 : view.setUint32).call(view, offset, Number(v), true);
    else if (bytes === 2) view.setUint16(offset, Number(v), true);
    else view.setUint8(offset, Number(v));
  };
  const common = { common_type: format.id, common_pid: pid } as Record<string, FieldValue>;
  for (const f of all) {
    const v = common[f.name] ?? values[f.name];
    if (v === undefined) continue;
    const bytes =
      typeof v === "string" ? new TextEncoder().encode(v) : v instanceof Uint8Array ? v : undefined;
    if (bytes === undefined) put(f.offset, f.size, f.signed, v as number | bigint);
    else if (f.kind === "data_loc" || f.kind === "rel_loc") {
      const start = tail - (f.kind === "rel_loc" ? f.offset + f.size : 0);
      // Strings keep their NUL, as the kernel's __assign_str does.
      const length = bytes.length + (typeof v === "string" ? 1 : 0);
      body.set(bytes, tail);
      view.setUint32(f.offset, (start & 0xffff) | (length << 16), true);
      tail += length;
    } else body.set(bytes.subarray(0, f.kind === "rest" ? undefined : f.size), f.offset);
  }
  return body;
}

/** Appends events to one page; build() writes the header (timestamp, commit and lost-event flags). */
export class PageBuilder {
  readonly #layout: PageLayout;
  readonly #header: EventHeaderLayout;
  readonly #page: Uint8Array;
  readonly #view: DataView;
  readonly #timestamp: bigint;
  #at: number;

  constructor(layout: PageLayout, header: EventHeaderLayout, timestamp: bigint) {
    this.#layout = layout;
    this.#header = header;
    this.#page = new Uint8Array(layout.dataOffset + layout.dataSize);
    this.#view = new DataView(this.#page.buffer);
    this.#timestamp = timestamp;
    this.#at = layout.dataOffset;
  }

  #word(typeLen: number, delta: number | bigint): void {
    this.#view.setUint32(this.#at, typeLen | (Number(delta) << this.#header.typeLenBits), true);
    this.#at += 4;
  }

  #u32(v: number): void {
    this.#view.setUint32(this.#at, v, true);
    this.#at += 4;
  }

  /** A data record `delta` ns after the previous event. */
  record(body: Uint8Array, delta = 0): this {
    const words = Math.ceil(body.length / 4);
    if (words <= this.#header.dataMaxTypeLen) this.#word(words, delta);
    else {
      this.#word(0, delta);
      this.#u32(body.length + 4);
    }
    this.#page.set(body, this.#at);
    this.#at += words * 4;
    return this;
  }

  /** A time-extend record adding `delta` ns (more than time_delta's 27 bits hold). */
  timeExtend(delta: bigint): this {
    const bits = BigInt(this.#header.timeDeltaBits);
    this.#word(this.#header.timeExtend, delta & ((1n << bits) - 1n));
    this.#u32(Number(delta >> bits));
    return this;
  }

  /** An absolute-time record (the low 59 bits; the decoder takes the rest from the page timestamp). */
  timeStamp(abs: bigint): this {
    const bits = BigInt(this.#header.timeDeltaBits);
    const low = BigInt.asUintN(59, abs);
    this.#word(this.#header.timeStamp, low & ((1n << bits) - 1n));
    this.#u32(Number(low >> bits));
    return this;
  }

  /** A discarded record of `bytes` bytes in all (a multiple of 4, at least 8). */
  padding(bytes: number, delta = 1): this {
    this.#word(this.#header.padding, delta);
    this.#u32(bytes - 4);
    this.#at += bytes - 8;
    return this;
  }

  /** "Nothing more on this page": a padding header with time_delta 0. */
  end(): this {
    this.#word(this.#header.padding, 0);
    return this;
  }

  /** The page; `missed`: events were lost before it (true: count unknown; a bigint: stored after the data). */
  build(missed?: true | bigint): Uint8Array {
    const length = this.#at - this.#layout.dataOffset;
    let commit = length;
    if (missed !== undefined) {
      commit |= 0x8000_0000;
      if (typeof missed === "bigint") {
        commit |= 0x4000_0000;
        this.#view.setBigUint64(this.#at, missed, true);
      }
    }
    this.#view.setBigUint64(this.#layout.timestampOffset, this.#timestamp, true);
    this.#view.setUint32(this.#layout.commitOffset, commit >>> 0, true);
    return this.#page;
  }
}

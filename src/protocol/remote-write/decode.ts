/**
 * WriteRequest decoding: a focused reader of the three messages (WriteRequest, TimeSeries, Label + Sample), strict
 * where a generated decoder is lenient: a known field with the wrong wire type, a length running past its
 * message, a bad or truncated varint are each a RemoteWriteDecodeError, never a garbage value. Unknown fields
 * (Prometheus 2.x sends metadata as field 3) are skipped.
 *
 * Why by hand rather than protobufjs' Reader: a receiver decodes the same label sets every interval (an agent
 * pushes its ~150 series per domain every 10 s), and the measured cost on the server's ingest path
 * (bench/server, --cpu-prof) was the per-label UTF-8 string reads, a Long per timestamp and a closure per field.
 * Here a `LabelSetCache` maps a series' label bytes to the Label[] decoded from them before, so a known series
 * costs one byte-string key and a map lookup; the interned arrays are frozen and shared between requests.
 */
import { Buffer } from "node:buffer";
import { RemoteWriteDecodeError } from "./errors.ts";
import type { Label, Sample, TimeSeries } from "./types.ts";

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

/** A label set's wire bytes and what they decode to; `next` is the set that followed it in the last request. */
interface Interned {
  readonly bytes: Buffer;
  readonly labels: readonly Label[];
  next: Interned | undefined;
}

/**
 * Label sets decoded before, by their wire bytes: the same bytes always decode to the same labels. A sender
 * repeats its series in the same order each push, so the set that followed the previous one last time is tried
 * first (a byte compare); only a miss builds a key and looks it up. Bounded: past `maxEntries` it starts again
 * empty (a flood of new series costs a decode each, as with no cache).
 */
export class LabelSetCache {
  private readonly sets = new Map<string, Interned>();
  private readonly maxEntries: number;

  constructor(maxEntries = 1 << 18) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.sets.size;
  }

  /** `prev`'s successor when its bytes stand at buf[from, ...] (the caller checks that its run ends there). */
  guessAt(buf: Buffer, from: number, end: number, prev: Interned | undefined): Interned | undefined {
    const guess = prev?.next;
    if (guess === undefined) return undefined;
    const n = guess.bytes.length;
    return from + n <= end && buf.compare(guess.bytes, 0, n, from, from + n) === 0 ? guess : undefined;
  }

  /** The entry of the bytes buf[from, to), trying `prev`'s successor first. */
  find(buf: Buffer, from: number, to: number, prev: Interned | undefined): Interned | undefined {
    const guess = prev?.next;
    if (
      guess !== undefined &&
      guess.bytes.length === to - from &&
      buf.compare(guess.bytes, 0, to - from, from, to) === 0
    )
      return guess;
    const found = this.sets.get(buf.toString("latin1", from, to));
    if (found !== undefined && prev !== undefined) prev.next = found;
    return found;
  }

  add(buf: Buffer, from: number, to: number, labels: readonly Label[], prev: Interned | undefined): Interned {
    if (this.sets.size >= this.maxEntries) this.sets.clear();
    const entry: Interned = { bytes: Buffer.from(buf.subarray(from, to)), labels, next: undefined };
    this.sets.set(buf.toString("latin1", from, to), entry);
    if (prev !== undefined) prev.next = entry;
    return entry;
  }
}

class WireReader {
  pos = 0;
  readonly buf: Buffer;
  private readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private byte(): number {
    if (this.pos >= this.buf.length)
      throw new RemoteWriteDecodeError(`truncated: a varint runs past the end at offset ${this.pos}`);
    return this.buf[this.pos++]!;
  }

  /** An unsigned varint as a number (exact below 2^53; anything larger is refused by its caller's bounds). */
  uint(): number {
    const at = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new RemoteWriteDecodeError(`invalid varint encoding at offset ${at}`);
  }

  /** A varint int64 (two's complement for negatives), as protobuf's int64: hi * 2^32 + lo, exact for ms times. */
  int64(): number {
    const at = this.pos;
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let i = 0; i < 4; i++) {
      b = this.byte();
      lo |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return lo >>> 0;
    }
    b = this.byte();
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >>> 4;
    if (b < 0x80) return (hi | 0) * 4294967296 + (lo >>> 0);
    for (let i = 0; i < 5; i++) {
      b = this.byte();
      hi |= (b & 0x7f) << (7 * i + 3);
      if (b < 0x80) return (hi | 0) * 4294967296 + (lo >>> 0);
    }
    throw new RemoteWriteDecodeError(`invalid varint encoding at offset ${at}`);
  }

  double(end: number): number {
    if (this.pos + 8 > end)
      throw new RemoteWriteDecodeError(
        `truncated: a double runs past its message's end at offset ${this.pos}`,
      );
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** The end of a length-delimited field whose length varint is next; must lie within `end`. */
  lenEnd(end: number, field: string): number {
    const at = this.pos;
    const len = this.uint();
    const to = this.pos + len;
    if (to > end)
      throw new RemoteWriteDecodeError(
        `${field}: length ${len} at offset ${at} runs past its message's end (${end})`,
      );
    return to;
  }

  /** A field tag: [field number, wire type]; field 0 and tags past 32 bits are refused. */
  tag(): number {
    const at = this.pos;
    const t = this.uint();
    if (t < 8 || t > 0xffffffff) throw new RemoteWriteDecodeError(`bad field tag ${t} at offset ${at}`);
    return t;
  }

  /** Skips an unknown field's value of wire type `wire` (groups by their end tag). */
  skip(field: number, wire: number, end: number, at: number): void {
    switch (wire) {
      case VARINT:
        this.uint();
        break;
      case FIXED64:
        this.pos += 8;
        break;
      case LEN:
        this.pos = this.lenEnd(end, `field ${field}`);
        break;
      case FIXED32:
        this.pos += 4;
        break;
      case START_GROUP:
        for (;;) {
          if (this.pos >= end) throw new RemoteWriteDecodeError(`group ${field} at offset ${at} has no end`);
          const at2 = this.pos;
          const t = this.tag();
          if ((t & 7) === END_GROUP) {
            if (t >>> 3 !== field)
              throw new RemoteWriteDecodeError(`group end at offset ${at2} closes another group`);
            break;
          }
          this.skip(t >>> 3, t & 7, end, at2);
        }
        break;
      default:
        throw new RemoteWriteDecodeError(`invalid wire type ${wire} at offset ${at}`);
    }
    if (this.pos > end)
      throw new RemoteWriteDecodeError(`field ${field} at offset ${at} runs past its message's end (${end})`);
  }
}

function expectWire(got: number, want: number, field: string, at: number): void {
  if (got !== want)
    throw new RemoteWriteDecodeError(`${field}: wire type ${got} at offset ${at}, expected ${want}`);
}

function decodeLabel(r: WireReader, end: number): Label {
  let name = "";
  let value = "";
  while (r.pos < end) {
    const at = r.pos;
    const t = r.tag();
    const field = t >>> 3;
    if (field === 1 || field === 2) {
      expectWire(t & 7, LEN, field === 1 ? "Label.name" : "Label.value", at);
      const to = r.lenEnd(end, field === 1 ? "Label.name" : "Label.value");
      const s = r.buf.toString("utf8", r.pos, to);
      r.pos = to;
      if (field === 1) name = s;
      else value = s;
    } else r.skip(field, t & 7, end, at);
  }
  if (r.pos !== end) throw new RemoteWriteDecodeError(`a field runs past its message's end at offset ${end}`);
  return { name, value };
}

/** A label set shared between requests: frozen, so no reader can change what the next one gets. */
function frozen(labels: Label[]): readonly Label[] {
  for (const l of labels) Object.freeze(l);
  return Object.freeze(labels);
}

/** The labels of the TimeSeries fields in [from, to) (other fields there are skipped). */
function decodeLabels(r: WireReader, from: number, to: number): Label[] {
  const back = r.pos;
  r.pos = from;
  const labels: Label[] = [];
  while (r.pos < to) {
    const at = r.pos;
    const t = r.tag();
    if (t >>> 3 === 1) {
      const end = r.lenEnd(to, "TimeSeries.labels");
      labels.push(decodeLabel(r, end));
      r.pos = end;
    } else r.skip(t >>> 3, t & 7, to, at);
  }
  r.pos = back;
  return labels;
}

function decodeSample(r: WireReader, end: number): Sample {
  let value = 0;
  let timestamp = 0;
  while (r.pos < end) {
    const at = r.pos;
    const t = r.tag();
    const field = t >>> 3;
    if (field === 1) {
      expectWire(t & 7, FIXED64, "Sample.value", at);
      value = r.double(end);
    } else if (field === 2) {
      expectWire(t & 7, VARINT, "Sample.timestamp", at);
      timestamp = r.int64();
    } else r.skip(field, t & 7, end, at);
  }
  if (r.pos !== end) throw new RemoteWriteDecodeError(`a field runs past its message's end at offset ${end}`);
  return { value, timestamp };
}

/** Where decodeSeries stands in a request: the label set of the series before (the cache's guess for the next). */
interface Cursor {
  readonly cache: LabelSetCache | undefined;
  prev: Interned | undefined;
}

function decodeSeries(r: WireReader, end: number, cursor: Cursor): TimeSeries {
  const samples: Sample[] = [];
  // The label fields' extent: one run of bytes when they are adjacent (as every sender writes them).
  let from = -1;
  let to = -1;
  let adjacent = true;
  // The label set the cache guesses (the one that followed the previous series last time), when its bytes are here:
  // its label fields are then stepped over whole rather than one by one.
  let guessed: Interned | undefined;
  while (r.pos < end) {
    const at = r.pos;
    const t = r.tag();
    const field = t >>> 3;
    if (field === 1) {
      expectWire(t & 7, LEN, "TimeSeries.labels", at);
      if (from < 0) {
        from = at;
        guessed = cursor.cache?.guessAt(r.buf, at, end, cursor.prev);
        if (guessed !== undefined) {
          r.pos = to = at + guessed.bytes.length;
          continue;
        }
      } else if (at !== to) adjacent = false;
      const fieldEnd = r.lenEnd(end, "TimeSeries.labels");
      to = fieldEnd;
      r.pos = fieldEnd;
    } else if (field === 2) {
      expectWire(t & 7, LEN, "TimeSeries.samples", at);
      const fieldEnd = r.lenEnd(end, "TimeSeries.samples");
      samples.push(decodeSample(r, fieldEnd));
    } else r.skip(field, t & 7, end, at);
  }
  if (r.pos !== end) throw new RemoteWriteDecodeError(`a field runs past its message's end at offset ${end}`);
  if (from < 0) return { labels: [], samples };
  const cache = cursor.cache;
  if (!cache || !adjacent) return { labels: decodeLabels(r, from, to), samples };
  if (guessed !== undefined && to === from + guessed.bytes.length) {
    cursor.prev = guessed;
    return { labels: guessed.labels, samples };
  }
  const entry =
    cache.find(r.buf, from, to, cursor.prev) ??
    cache.add(r.buf, from, to, frozen(decodeLabels(r, from, to)), cursor.prev);
  cursor.prev = entry;
  return { labels: entry.labels, samples };
}

/**
 * Decodes a WriteRequest (uncompressed). Throws RemoteWriteDecodeError on any malformed input. With `labelSets`,
 * label sets seen before are not decoded again: their (frozen) Label[] is shared with earlier answers.
 */
export function decodeWriteRequest(bytes: Uint8Array, labelSets?: LabelSetCache): TimeSeries[] {
  const r = new WireReader(bytes);
  const end = bytes.length;
  const out: TimeSeries[] = [];
  const cursor: Cursor = { cache: labelSets, prev: undefined };
  while (r.pos < end) {
    const at = r.pos;
    const t = r.tag();
    if (t >>> 3 === 1) {
      expectWire(t & 7, LEN, "WriteRequest.timeseries", at);
      const seriesEnd = r.lenEnd(end, "WriteRequest.timeseries");
      out.push(decodeSeries(r, seriesEnd, cursor));
    } else r.skip(t >>> 3, t & 7, end, at);
  }
  return out;
}

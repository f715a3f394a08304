/**
 * Declarative XDR schemas: each XDR type is a value with encode/decode, composed with combinators, and its
 * TypeScript type is inferred from the schema (`Infer<typeof s>`). Procedures are then pure data
 * (`{ args: schema, ret: schema }`) and one codec does all the work.
 *
 * Decoders walk precomputed field lists in loops rather than allocating closures per value, so decoding stays
 * cheap for large replies; truly hot shapes (typed params) may still provide a hand-written Codec.
 */
import { XdrError } from "./errors.ts";
import type { XdrReader } from "./reader.ts";
import type { XdrWriter } from "./writer.ts";

export interface Codec<T> {
  encode(w: XdrWriter, v: T): void;
  decode(r: XdrReader): T;
  /** Smallest encoded size in bytes, used to reject impossible array counts before allocating. */
  readonly minSize: number;
}

export type Infer<C> = C extends Codec<infer T> ? T : never;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a field map holds codecs of unrelated types
type AnyCodec = Codec<any>;
type Fields = Record<string, AnyCodec>;
export type StructOf<F extends Fields> = { [K in keyof F]: Infer<F[K]> };

const int: Codec<number> = { minSize: 4, encode: (w, v) => w.int(v), decode: (r) => r.int() };
const uint: Codec<number> = { minSize: 4, encode: (w, v) => w.uint(v), decode: (r) => r.uint() };
const hyper: Codec<bigint> = { minSize: 8, encode: (w, v) => w.hyper(v), decode: (r) => r.hyper() };
const uhyper: Codec<bigint> = { minSize: 8, encode: (w, v) => w.uhyper(v), decode: (r) => r.uhyper() };
const double: Codec<number> = { minSize: 8, encode: (w, v) => w.double(v), decode: (r) => r.double() };
const bool: Codec<boolean> = { minSize: 4, encode: (w, v) => w.bool(v), decode: (r) => r.bool() };
/** XDR void: zero bytes; used for procedures without args or ret and for empty union arms. */
const none: Codec<undefined> = { minSize: 0, encode: () => {}, decode: () => undefined };

function string(max: number): Codec<string> {
  return { minSize: 4, encode: (w, v) => w.string(v, max), decode: (r) => r.string(max) };
}

function opaque(max: number): Codec<Buffer> {
  return { minSize: 4, encode: (w, v) => w.opaque(v, max), decode: (r) => r.opaque(max) };
}

function fixedOpaque(n: number): Codec<Buffer> {
  return { minSize: (n + 3) & ~3, encode: (w, v) => w.fixedOpaque(v, n), decode: (r) => r.fixedOpaque(n) };
}

/** T<max>: a count then the elements. */
function array<T>(item: Codec<T>, max: number): Codec<T[]> {
  const unit = Math.max(item.minSize, 1);
  return {
    minSize: 4,
    encode(w, v) {
      if (v.length > max) throw new XdrError(`array of ${v.length} exceeds max ${max}`, w.length);
      w.uint(v.length);
      for (const e of v) item.encode(w, e);
    },
    decode(r) {
      const n = r.length(max, unit);
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(item.decode(r));
      return out;
    },
  };
}

/** T[n]: exactly n elements, no count. */
function fixedArray<T>(item: Codec<T>, n: number): Codec<T[]> {
  return {
    minSize: item.minSize * n,
    encode(w, v) {
      if (v.length !== n) throw new XdrError(`fixed array needs ${n} elements, got ${v.length}`, w.length);
      for (const e of v) item.encode(w, e);
    },
    decode(r) {
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(item.decode(r));
      return out;
    },
  };
}

/** `T *`: a 0/1 word then T when 1. Absent decodes to null. */
function optional<T>(item: Codec<T>): Codec<T | null> {
  return {
    minSize: 4,
    encode(w, v) {
      w.bool(v !== null);
      if (v !== null) item.encode(w, v);
    },
    decode: (r) => (r.bool() ? item.decode(r) : null),
  };
}

function struct<F extends Fields>(fields: F): Codec<StructOf<F>> {
  const keys = Object.keys(fields);
  const codecs = keys.map((k) => fields[k]!);
  const n = keys.length;
  return {
    minSize: codecs.reduce((s, c) => s + c.minSize, 0),
    encode(w, v) {
      const rec = v as Record<string, unknown>;
      for (let i = 0; i < n; i++) codecs[i]!.encode(w, rec[keys[i]!]);
    },
    decode(r) {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) out[keys[i]!] = codecs[i]!.decode(r);
      return out as StructOf<F>;
    },
  };
}

type Arms = Record<number, AnyCodec>;
export type UnionOf<A extends Arms> = { [K in keyof A & number]: { type: K; value: Infer<A[K]> } }[keyof A &
  number];

/** A union switched on an int discriminant; an unknown discriminant is malformed input. */
function union<A extends Arms>(arms: A): Codec<UnionOf<A>> {
  const table = new Map<number, AnyCodec>(Object.entries(arms).map(([k, c]) => [Number(k), c]));
  return {
    minSize: 4,
    encode(w, v) {
      const arm = table.get(v.type);
      if (!arm) throw new XdrError(`union has no arm ${v.type}`, w.length);
      w.int(v.type);
      arm.encode(w, v.value);
    },
    decode(r) {
      const at = r.pos;
      const type = r.int();
      const arm = table.get(type);
      if (!arm) throw new XdrError(`union has no arm ${type}`, at);
      return { type, value: arm.decode(r) } as UnionOf<A>;
    },
  };
}

/** Maps a wire shape to a friendlier one (e.g. 16 raw bytes to a UUID string). */
function transform<W, T>(wire: Codec<W>, fromWire: (w: W) => T, toWire: (v: T) => W): Codec<T> {
  return {
    minSize: wire.minSize,
    encode: (w, v) => wire.encode(w, toWire(v)),
    decode: (r) => fromWire(wire.decode(r)),
  };
}

/** `char name[n]` as rpcgen encodes it: one 4-byte word per char; decoded up to the first NUL. */
function charArray(n: number): Codec<string> {
  return {
    minSize: 4 * n,
    encode(w, v) {
      const bytes = Buffer.from(v, "latin1");
      for (let i = 0; i < n; i++) w.int(i < bytes.length ? (bytes[i]! << 24) >> 24 : 0);
    },
    decode(r) {
      r.need(4 * n);
      const bytes = Buffer.allocUnsafe(n);
      let len = n;
      for (let i = 0; i < n; i++) {
        const c = r.int() & 0xff;
        bytes[i] = c;
        if (c === 0 && len === n) len = i;
      }
      return bytes.toString("latin1", 0, len);
    },
  };
}

/** The combinators as one object, so schemas read like the .x files: `x.struct({ name: x.string(256) })`. */
export const x = {
  int,
  uint,
  hyper,
  uhyper,
  double,
  bool,
  void: none,
  string,
  opaque,
  fixedOpaque,
  array,
  fixedArray,
  optional,
  struct,
  union,
  transform,
  charArray,
} as const;

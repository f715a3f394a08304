/**
 * remote_typed_param { string field; union switch (int type) value }, hand-written rather than composed
 * from x.union because bulk stats decode ~150k of them per scrape: one tight loop, no per-param closures,
 * values written straight into the caller's Map.
 */
import { XdrError } from "../xdr/errors.ts";
import type { XdrReader } from "../xdr/reader.ts";
import type { Codec } from "../xdr/schema.ts";
import type { XdrWriter } from "../xdr/writer.ts";
import { type TypedParam, TypedParamType, type TypedParamValue } from "./types.ts";
import { STRING_MAX, TYPED_PARAMS_MAX } from "./wire.ts";

/** Reads one param's value given its type word (already consumed). */
function readValue(r: XdrReader, type: number, at: number): TypedParamValue {
  switch (type) {
    case TypedParamType.INT:
      return r.int();
    case TypedParamType.UINT:
      return r.uint();
    case TypedParamType.LLONG:
      return r.hyper();
    case TypedParamType.ULLONG:
      return r.uhyper();
    case TypedParamType.DOUBLE:
      return r.double();
    case TypedParamType.BOOLEAN:
      // libvirt encodes booleans as an int; any non-zero is true (virTypedParameter's `b` is a char).
      return r.int() !== 0;
    case TypedParamType.STRING:
      return r.string(STRING_MAX);
    default:
      throw new XdrError(`unknown typed param type ${type}`, at);
  }
}

/**
 * Remembers field names by position. Bulk stats repeat the same names in the same order for every domain and
 * in every reply, so comparing the wire bytes with the name remembered at that position (no allocation) and
 * reusing that string skips the string decode and lets the Map reuse the string's cached hash. One cache
 * kept across replies (procedures.ts keeps one for bulk stats) serves the first record of each reply too.
 * Only ASCII names are remembered (their bytes are their char codes, so the comparison is exact), and only at
 * the first MAX_CACHED_FIELDS positions, so a hostile reply cannot make it grow without bound.
 */
export class FieldNameCache {
  readonly names: string[] = [];
}

/** Positions remembered by a FieldNameCache (records have ~60 to ~300 params). */
export const MAX_CACHED_FIELDS = 4096;

function readFieldName(r: XdrReader, i: number, cache: FieldNameCache | undefined): string {
  if (cache === undefined) return r.string(STRING_MAX);
  const n = r.length(STRING_MAX);
  const padded = (n + 3) & ~3;
  r.need(padded);
  const buf = r.buf;
  const start = r.pos;
  r.pos = start + padded;
  const prev = cache.names[i];
  if (prev !== undefined && prev.length === n) {
    let k = 0;
    while (k < n && prev.charCodeAt(k) === buf[start + k]) k++;
    if (k === n) return prev;
  }
  let ascii = true;
  for (let k = 0; k < n; k++) {
    if (buf[start + k]! > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (!ascii) return buf.toString("utf8", start, start + n);
  const name = buf.toString("latin1", start, start + n);
  if (i < MAX_CACHED_FIELDS) cache.names[i] = name;
  return name;
}

/** Decodes params<max> into a Map (later duplicates win, as in virTypedParamsGet* lookups). */
export function readTypedParamsMap(
  r: XdrReader,
  out: Map<string, TypedParamValue>,
  max = TYPED_PARAMS_MAX,
  cache?: FieldNameCache,
): void {
  // Each param takes at least 12 bytes: field length, type, 4-byte value.
  const n = r.length(max, 12);
  for (let i = 0; i < n; i++) {
    const field = readFieldName(r, i, cache);
    const at = r.pos;
    out.set(field, readValue(r, r.int(), at));
  }
}

export function readTypedParams(r: XdrReader, max = TYPED_PARAMS_MAX): TypedParam[] {
  const n = r.length(max, 12);
  const out: TypedParam[] = [];
  for (let i = 0; i < n; i++) {
    const field = r.string(STRING_MAX);
    const at = r.pos;
    const type = r.int();
    out.push({ field, type: type as TypedParamType, value: readValue(r, type, at) });
  }
  return out;
}

/** Encodes one param, checking the JS value matches the declared type (no silent coercion). */
function writeParam(w: XdrWriter, p: TypedParam): void {
  w.string(p.field, STRING_MAX);
  w.int(p.type);
  const v = p.value;
  const bad = () =>
    new XdrError(`typed param '${p.field}': value ${String(v)} does not fit type ${p.type}`, w.length);
  switch (p.type) {
    case TypedParamType.INT:
      if (typeof v !== "number") throw bad();
      w.int(v);
      return;
    case TypedParamType.UINT:
      if (typeof v !== "number") throw bad();
      w.uint(v);
      return;
    case TypedParamType.LLONG:
      if (typeof v !== "bigint") throw bad();
      w.hyper(v);
      return;
    case TypedParamType.ULLONG:
      if (typeof v !== "bigint") throw bad();
      w.uhyper(v);
      return;
    case TypedParamType.DOUBLE:
      if (typeof v !== "number") throw bad();
      w.double(v);
      return;
    case TypedParamType.BOOLEAN:
      if (typeof v !== "boolean") throw bad();
      w.int(v ? 1 : 0);
      return;
    case TypedParamType.STRING:
      if (typeof v !== "string") throw bad();
      w.string(v, STRING_MAX);
      return;
    default:
      throw new XdrError(`unknown typed param type ${p.type}`, w.length);
  }
}

/** params<max> as a list. */
export function typedParams(max = TYPED_PARAMS_MAX): Codec<TypedParam[]> {
  return {
    minSize: 4,
    encode(w, v) {
      if (v.length > max) throw new XdrError(`${v.length} typed params exceed max ${max}`, w.length);
      w.uint(v.length);
      for (const p of v) writeParam(w, p);
    },
    decode: (r) => readTypedParams(r, max),
  };
}

/** params<max> as a Map from field to value (encoding infers nothing: use typedParams to send). */
export function typedParamsToMap(params: readonly TypedParam[]): Map<string, TypedParamValue> {
  const m = new Map<string, TypedParamValue>();
  for (const p of params) m.set(p.field, p.value);
  return m;
}

/**
 * Shared wire shapes of the remote protocol (remote_protocol.x basics), declared with the XDR combinators:
 * limits, UUIDs, remote_nonnull_domain (as DomainRef) and nullable strings.
 */
import { XdrError } from "../xdr/errors.ts";
import type { XdrReader } from "../xdr/reader.ts";
import { type Codec, x } from "../xdr/schema.ts";
import type { XdrWriter } from "../xdr/writer.ts";
import type { DomainRef } from "./types.ts";

/** REMOTE_STRING_MAX. */
export const STRING_MAX = 4194304;
/** REMOTE_DOMAIN_LIST_MAX. */
export const DOMAIN_LIST_MAX = 16384;
/** Our own ceiling on typed params per record; the 32 MiB packet limit bounds it anyway. */
export const TYPED_PARAMS_MAX = 1 << 20;
export const UUID_BYTES = 16;

/** 16 raw bytes at r.pos to canonical 8-4-4-4-12 lowercase text. */
function readUuid(r: XdrReader): string {
  r.need(UUID_BYTES);
  const h = r.buf.toString("hex", r.pos, r.pos + UUID_BYTES);
  r.pos += UUID_BYTES;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Value of a hex digit's char code, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  const l = c | 0x20; // ASCII lower case
  return l >= 97 && l <= 102 ? l - 87 : -1; // a-f
}

const uuidScratch = new Uint8Array(UUID_BYTES);

/**
 * Parses the UUID text straight into 16 bytes. Accepts exactly
 * /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i (32 hex digits, at most one '-' at
 * each of the 8-4-4-4-12 boundaries): every call that names a domain encodes one, so no RegExp, no strings, no Buffer.
 */
function writeUuid(w: XdrWriter, uuid: string): void {
  const out = uuidScratch;
  let digits = 0;
  let hyphenAt = -1;
  let ok = uuid.length >= 32 && uuid.length <= 36;
  for (let i = 0; ok && i < uuid.length; i++) {
    const c = uuid.charCodeAt(i);
    if (c === 45) {
      ok = hyphenAt !== digits && (digits === 8 || digits === 12 || digits === 16 || digits === 20);
      hyphenAt = digits;
      continue;
    }
    const v = hexValue(c);
    if (v < 0 || digits === 32) ok = false;
    else if ((digits & 1) === 0) out[digits >> 1] = v << 4;
    else out[digits >> 1]! |= v;
    digits++;
  }
  if (!ok || digits !== 32) throw new XdrError(`not a UUID: '${uuid}'`, w.length);
  w.fixedOpaque(out, UUID_BYTES);
}

/** remote_uuid as a canonical UUID string. */
export const uuid: Codec<string> = { minSize: UUID_BYTES, encode: writeUuid, decode: readUuid };

export const nonnullString: Codec<string> = x.string(STRING_MAX);
/** remote_string: an optional nonnull string. */
export const nullableString: Codec<string | null> = x.optional(nonnullString);

/** remote_nonnull_domain { name, uuid, id }, hand-written because bulk stats decode thousands of them. */
export const domain: Codec<DomainRef> = {
  minSize: 4 + UUID_BYTES + 4,
  encode(w, d) {
    w.string(d.name, STRING_MAX);
    writeUuid(w, d.uuid);
    w.int(d.id);
  },
  decode(r) {
    const name = r.string(STRING_MAX);
    const u = readUuid(r);
    return { name, uuid: u, id: r.int() };
  },
};

/** remote_domain: an optional domain (absent = "all domains" for event registration). */
export const optionalDomain: Codec<DomainRef | null> = x.optional(domain);

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

const HEX = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** 16 raw bytes at r.pos to canonical 8-4-4-4-12 lowercase text. */
function readUuid(r: XdrReader): string {
  r.need(UUID_BYTES);
  const h = r.buf.toString("hex", r.pos, r.pos + UUID_BYTES);
  r.pos += UUID_BYTES;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function writeUuid(w: XdrWriter, uuid: string): void {
  if (!HEX.test(uuid)) throw new XdrError(`not a UUID: '${uuid}'`, w.length);
  w.fixedOpaque(Buffer.from(uuid.replaceAll("-", ""), "hex"), UUID_BYTES);
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

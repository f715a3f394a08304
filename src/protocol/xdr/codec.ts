/** One-shot helpers: a value to bytes and bytes to a value, rejecting trailing garbage. */
import { XdrReader } from "./reader.ts";
import type { Codec } from "./schema.ts";
import { XdrWriter } from "./writer.ts";

export function encode<T>(codec: Codec<T>, value: T): Buffer {
  const w = new XdrWriter();
  codec.encode(w, value);
  return w.finish();
}

export function decode<T>(codec: Codec<T>, buf: Buffer): T {
  const r = new XdrReader(buf);
  const v = codec.decode(r);
  r.assertEnd();
  return v;
}

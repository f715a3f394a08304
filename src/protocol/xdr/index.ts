/** Public surface of the XDR layer. */
export { decode, encode } from "./codec.ts";
export { XdrError } from "./errors.ts";
export { XdrReader } from "./reader.ts";
export type { Codec, Infer, StructOf, UnionOf } from "./schema.ts";
export { x } from "./schema.ts";
export { XdrWriter } from "./writer.ts";

// snappyjs ships no types: the two functions used here (block format; `maxLength` bounds the declared size).
declare module "snappyjs" {
  export function compress(uncompressed: Uint8Array): Uint8Array;
  export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
}

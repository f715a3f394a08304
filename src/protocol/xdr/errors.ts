/** The one error type of the XDR layer: every malformed or truncated input ends up here, never as a RangeError. */

export class XdrError extends Error {
  override name = "XdrError";
  /** Byte offset in the buffer where decoding or encoding failed. */
  readonly offset: number;
  constructor(message: string, offset: number, options?: { cause?: unknown }) {
    super(`${message} (at byte ${offset})`, options);
    this.offset = offset;
  }
}

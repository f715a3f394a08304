/** The one error type of the XDR layer: every malformed or truncated input ends up here, never as a RangeError. */
import { KvmonError } from "../../shared/errors.ts";

export class XdrError extends KvmonError {
  override name = "XdrError";
  /** Byte offset in the buffer where decoding or encoding failed. */
  readonly offset: number;
  constructor(message: string, offset: number, options?: { cause?: unknown }) {
    super("XDR_MALFORMED", `${message} (at byte ${offset})`, options);
    this.offset = offset;
  }
}

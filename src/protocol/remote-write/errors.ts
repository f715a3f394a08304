/**
 * remote_write's errors. A body that cannot be read (snappy or protobuf garbage, a bomb) and a body that reads but
 * breaks the spec's rules (label syntax, order, duplicates) are told apart: the receiver answers 400 for both,
 * but the operator's fix differs (a broken sender vs. a bad label), and the message names which.
 */
import { KvmonError, type KvmonErrorOptions } from "../../shared/errors.ts";

/** The body is not a snappy-compressed WriteRequest (truncated, bad varint, wrong wire type, corrupt block). */
export class RemoteWriteDecodeError extends KvmonError {
  override name = "RemoteWriteDecodeError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("REMOTE_WRITE_MALFORMED", message, options);
  }
}

/** The body, compressed or as its block header declares it uncompressed, is over the receiver's bound. */
export class RemoteWriteTooLargeError extends KvmonError {
  override name = "RemoteWriteTooLargeError";
  readonly bytes: number;
  readonly limit: number;
  constructor(what: string, bytes: number, limit: number) {
    super("REMOTE_WRITE_TOO_LARGE", `${what} is ${bytes} bytes, over the limit of ${limit}`, {
      hint: "send smaller batches or raise the receiver's limit",
    });
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** A series breaks the label rules (syntax, sorted order, duplicates, empty names or values, no __name__). */
export class RemoteWriteInvalidError extends KvmonError {
  override name = "RemoteWriteInvalidError";
  /** Index of the offending series in the request. */
  readonly seriesIndex: number;
  constructor(seriesIndex: number, message: string) {
    super("REMOTE_WRITE_INVALID", `series ${seriesIndex}: ${message}`);
    this.seriesIndex = seriesIndex;
  }
}

/**
 * Errors of the tracefs layer, each a KvmonError with a stable code:
 * - TracefsUnavailableError (TRACEFS_UNAVAILABLE): tracefs is not mounted, or this process may not use it (not
 *   root); the message names what is missing and the hint says how to get it;
 * - TracefsEventMissingError (TRACEFS_EVENT_MISSING): the running kernel has no such event (e.g. a kvm event of
 *   a newer kernel, or the kvm module not loaded);
 * - TracefsFormatError (TRACEFS_FORMAT): a `format`, `header_page` or `header_event` file this layer cannot read;
 * - TracefsIoError (TRACEFS_IO): a tracefs file refused a read or write for another reason (e.g. the kernel
 *   rejected a filter), with the path and the errno underneath;
 * - RingBufferCorruptError (TRACEFS_CORRUPT_PAGE): a ring-buffer page whose bytes contradict its own headers
 *   (a record running past the commit, an unknown event id, a length of zero...). The decoder stops at the
 *   first such record: it never throws anything else and never loops on a bad page.
 */
import { KvmonError, type KvmonErrorOptions } from "../../shared/errors.ts";

export class TracefsUnavailableError extends KvmonError {
  override name = "TracefsUnavailableError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("TRACEFS_UNAVAILABLE", message, options);
  }
}

export class TracefsEventMissingError extends KvmonError {
  override name = "TracefsEventMissingError";
  /** The missing events as `system:name`. */
  readonly events: readonly string[];
  constructor(events: readonly string[], options?: KvmonErrorOptions) {
    super("TRACEFS_EVENT_MISSING", `this kernel has no trace event ${events.join(", ")}`, options);
    this.events = events;
  }
}

export class TracefsFormatError extends KvmonError {
  override name = "TracefsFormatError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("TRACEFS_FORMAT", message, options);
  }
}

export class TracefsIoError extends KvmonError {
  override name = "TracefsIoError";
  readonly path: string;
  constructor(message: string, path: string, options?: KvmonErrorOptions) {
    super("TRACEFS_IO", `${message}: ${path}`, options);
    this.path = path;
  }
}

export class RingBufferCorruptError extends KvmonError {
  override name = "RingBufferCorruptError";
  /** Byte offset in the page where decoding stopped. */
  readonly offset: number;
  constructor(message: string, offset: number, options?: KvmonErrorOptions) {
    super("TRACEFS_CORRUPT_PAGE", `ring-buffer page: ${message} (at byte ${offset})`, options);
    this.offset = offset;
  }
}

/**
 * Errors of the tracer service, each a KvmonError with a stable code (the tracefs layer's own errors,
 * TRACEFS_UNAVAILABLE and TRACEFS_EVENT_MISSING among them, pass through unchanged):
 * - TracerDomainError (TRACER_DOMAIN): a domain that cannot be traced here (not running: no QEMU pid file;
 *   no vCPU thread found);
 * - TracerRequestError (TRACER_REQUEST): a request the tracer refuses (no domain named, an event name that is
 *   not `system:name`, none of the asked events on this kernel).
 */
import { KvmonError, type KvmonErrorOptions } from "../shared/errors.ts";

export class TracerDomainError extends KvmonError {
  override name = "TracerDomainError";
  readonly domain: string;
  constructor(domain: string, problem: string, options?: KvmonErrorOptions) {
    super("TRACER_DOMAIN", `domain '${domain}' ${problem}`, options);
    this.domain = domain;
  }
}

export class TracerRequestError extends KvmonError {
  override name = "TracerRequestError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("TRACER_REQUEST", message, options);
  }
}

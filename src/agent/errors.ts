/**
 * Typed errors of the agent layer. Timeouts use the shared TimeoutError (src/shared/errors.ts) like every other
 * layer; the libvirt client raises it for the bulk call, whose late reply it drops at the dispatcher.
 */
import { KvmonError, type KvmonErrorOptions } from "../shared/errors.ts";

/** Bad configuration: `key` names the offending setting and `origin` where it came from (file, env, flag). */
export class ConfigError extends KvmonError {
  override name = "ConfigError";
  readonly key: string;
  readonly origin: string;
  constructor(key: string, origin: string, message: string, options?: KvmonErrorOptions) {
    super("CONFIG_INVALID", `config ${key} (${origin}): ${message}`, options);
    this.key = key;
    this.origin = origin;
  }
}

/** A QEMU process's start time cannot be read from its pid file and /proc (uptime is then unknown). */
export class ProcessStartError extends KvmonError {
  override name = "ProcessStartError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("PROCESS_START_UNREADABLE", message, options);
  }
}

export { HttpError, type HttpErrorStatus } from "../shared/http-error.ts";

/**
 * Errors of the libvirt client, flat and named, each a KvmonError (stable `code`, `cause` kept):
 * - LibvirtError: the daemon answered with remote_error (every field kept, the virErrorNumber as `libvirtCode`,
 *   `code` = LIBVIRT_<NAME>, plus helpers such as isNoDomain);
 * - ConnectionClosedError: the connection went away; pending calls fail with it at once ("interrupted");
 * - NotConnectedError: a call made while a reconnecting connection is down (fails fast, nothing is sent);
 * - TimeoutError: no reply within the call's deadline (the shared one, src/shared/errors.ts);
 * - ProtocolError / FramingError: the peer sent bytes that do not follow the protocol;
 * - AuthError: the daemon only offers authentication this client does not implement (SASL);
 * - UriError: a connection URI this client cannot use;
 * - DuplicateHandlerError: a second MESSAGE handler for the same (program, procedure): a programming error.
 */
import { KvmonError, type KvmonErrorOptions } from "../../shared/errors.ts";

export { TimeoutError } from "../../shared/errors.ts";

/** virErrorNumber values kvmon looks at (libvirt's virerror.h). */
export const ErrorCode = {
  OK: 0,
  INTERNAL_ERROR: 1,
  NO_MEMORY: 2,
  NO_SUPPORT: 3,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  XML_ERROR: 27,
  DOM_EXIST: 28,
  /** A write call on a read-only connection. */
  OPERATION_DENIED: 29,
  SYSTEM_ERROR: 38,
  RPC: 39,
  NO_DOMAIN: 42,
  AUTH_FAILED: 45,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  ARGUMENT_UNSUPPORTED: 74,
  OPERATION_UNSUPPORTED: 84,
  AGENT_UNRESPONSIVE: 86,
  RESOURCE_BUSY: 87,
  ACCESS_DENIED: 88,
  AGENT_UNSYNCED: 97,
} as const;

/**
 * Every virErrorNumber by its value (virerror.h, libvirt 9.7), without the VIR_ERR_ prefix; the few warnings
 * (VIR_WAR_*) keep a WAR_ prefix. Only used to name codes: LIBVIRT_<NAME>.
 */
// prettier-ignore
const ERROR_NAMES: readonly string[] = [
  "OK", "INTERNAL_ERROR", "NO_MEMORY", "NO_SUPPORT", "UNKNOWN_HOST", "NO_CONNECT", "INVALID_CONN",
  "INVALID_DOMAIN", "INVALID_ARG", "OPERATION_FAILED", "GET_FAILED", "POST_FAILED", "HTTP_ERROR",
  "SEXPR_SERIAL", "NO_XEN", "XEN_CALL", "OS_TYPE", "NO_KERNEL", "NO_ROOT", "NO_SOURCE", "NO_TARGET", "NO_NAME",
  "NO_OS", "NO_DEVICE", "NO_XENSTORE", "DRIVER_FULL", "CALL_FAILED", "XML_ERROR", "DOM_EXIST",
  "OPERATION_DENIED", "OPEN_FAILED", "READ_FAILED", "PARSE_FAILED", "CONF_SYNTAX", "WRITE_FAILED",
  "XML_DETAIL", "INVALID_NETWORK", "NETWORK_EXIST", "SYSTEM_ERROR", "RPC", "GNUTLS_ERROR", "WAR_NO_NETWORK",
  "NO_DOMAIN", "NO_NETWORK", "INVALID_MAC", "AUTH_FAILED", "INVALID_STORAGE_POOL", "INVALID_STORAGE_VOL",
  "WAR_NO_STORAGE", "NO_STORAGE_POOL", "NO_STORAGE_VOL", "WAR_NO_NODE", "INVALID_NODE_DEVICE",
  "NO_NODE_DEVICE", "NO_SECURITY_MODEL", "OPERATION_INVALID", "WAR_NO_INTERFACE", "NO_INTERFACE",
  "INVALID_INTERFACE", "MULTIPLE_INTERFACES", "WAR_NO_NWFILTER", "INVALID_NWFILTER", "NO_NWFILTER",
  "BUILD_FIREWALL", "WAR_NO_SECRET", "INVALID_SECRET", "NO_SECRET", "CONFIG_UNSUPPORTED", "OPERATION_TIMEOUT",
  "MIGRATE_PERSIST_FAILED", "HOOK_SCRIPT_FAILED", "INVALID_DOMAIN_SNAPSHOT", "NO_DOMAIN_SNAPSHOT",
  "INVALID_STREAM", "ARGUMENT_UNSUPPORTED", "STORAGE_PROBE_FAILED", "STORAGE_POOL_BUILT",
  "SNAPSHOT_REVERT_RISKY", "OPERATION_ABORTED", "AUTH_CANCELLED", "NO_DOMAIN_METADATA", "MIGRATE_UNSAFE",
  "OVERFLOW", "BLOCK_COPY_ACTIVE", "OPERATION_UNSUPPORTED", "SSH", "AGENT_UNRESPONSIVE", "RESOURCE_BUSY",
  "ACCESS_DENIED", "DBUS_SERVICE", "STORAGE_VOL_EXIST", "CPU_INCOMPATIBLE", "XML_INVALID_SCHEMA",
  "MIGRATE_FINISH_OK", "AUTH_UNAVAILABLE", "NO_SERVER", "NO_CLIENT", "AGENT_UNSYNCED", "LIBSSH",
  "DEVICE_MISSING", "INVALID_NWFILTER_BINDING", "NO_NWFILTER_BINDING", "INVALID_DOMAIN_CHECKPOINT",
  "NO_DOMAIN_CHECKPOINT", "NO_DOMAIN_BACKUP", "INVALID_NETWORK_PORT", "NETWORK_PORT_EXIST", "NO_NETWORK_PORT",
  "NO_HOSTNAME", "CHECKPOINT_INCONSISTENT", "MULTIPLE_DOMAINS", "NO_NETWORK_METADATA",
];

/** The stable code of a virErrorNumber: LIBVIRT_<NAME>, or LIBVIRT_ERROR for a number this table lacks. */
export function libvirtErrorCode(libvirtCode: number): string {
  const name = Number.isInteger(libvirtCode) ? ERROR_NAMES[libvirtCode] : undefined;
  return name === undefined ? "LIBVIRT_ERROR" : `LIBVIRT_${name}`;
}

/** virErrorLevel. */
export const ErrorLevel = { NONE: 0, WARNING: 1, ERROR: 2 } as const;

export interface RemoteErrorFields {
  code: number;
  domain: number;
  message: string | null;
  level: number;
  str1: string | null;
  str2: string | null;
  str3: string | null;
  int1: number;
  int2: number;
}

export class LibvirtError extends KvmonError {
  override name = "LibvirtError";
  /** virErrorNumber (remote_error.code), e.g. 42 = NO_DOMAIN; `code` is its stable name (LIBVIRT_NO_DOMAIN). */
  readonly libvirtCode: number;
  /** virErrorDomain: the libvirt subsystem that raised it (e.g. 10 = QEMU, 7 = remote). */
  readonly domain: number;
  readonly level: number;
  readonly str1: string | null;
  readonly str2: string | null;
  readonly str3: string | null;
  readonly int1: number;
  readonly int2: number;
  /** The procedure that failed, when known (e.g. "DOMAIN_LOOKUP_BY_NAME"). */
  readonly procedure: string | undefined;

  constructor(fields: RemoteErrorFields, options?: { procedure?: string; cause?: unknown }) {
    // libvirt may omit the message; the code still says what happened.
    super(libvirtErrorCode(fields.code), fields.message ?? `libvirt error code ${fields.code}`, {
      cause: options?.cause,
    });
    this.libvirtCode = fields.code;
    this.domain = fields.domain;
    this.level = fields.level;
    this.str1 = fields.str1;
    this.str2 = fields.str2;
    this.str3 = fields.str3;
    this.int1 = fields.int1;
    this.int2 = fields.int2;
    this.procedure = options?.procedure;
  }

  isNoDomain(): boolean {
    return this.libvirtCode === ErrorCode.NO_DOMAIN;
  }
  /** ACCESS_DENIED (polkit/ACL) or OPERATION_DENIED (write call on a read-only connection). */
  isAccessDenied(): boolean {
    return this.libvirtCode === ErrorCode.ACCESS_DENIED || this.libvirtCode === ErrorCode.OPERATION_DENIED;
  }
  isNoSupport(): boolean {
    return this.libvirtCode === ErrorCode.NO_SUPPORT || this.libvirtCode === ErrorCode.OPERATION_UNSUPPORTED;
  }
  isOperationInvalid(): boolean {
    return this.libvirtCode === ErrorCode.OPERATION_INVALID;
  }
  /**
   * The guest agent cannot be used: not connected or not answering (AGENT_UNRESPONSIVE, AGENT_UNSYNCED), or
   * the domain has no agent channel at all (QEMU answers ARGUMENT_UNSUPPORTED "QEMU guest agent is not
   * configured"; only that message counts, as the code is also used for unrelated bad flags).
   */
  isAgentUnavailable(): boolean {
    const c = this.libvirtCode;
    if (c === ErrorCode.AGENT_UNRESPONSIVE || c === ErrorCode.AGENT_UNSYNCED) return true;
    return c === ErrorCode.ARGUMENT_UNSUPPORTED && /guest agent is not configured/.test(this.message);
  }
}

export class ConnectionClosedError extends KvmonError {
  override name = "ConnectionClosedError";
  constructor(
    message = "interrupted: connection to libvirt closed",
    options?: KvmonErrorOptions,
    code = "LIBVIRT_CONNECTION_CLOSED",
  ) {
    super(code, message, options);
  }
}

export class NotConnectedError extends ConnectionClosedError {
  override name = "NotConnectedError";
  constructor(message = "not connected to libvirt (reconnecting)", options?: KvmonErrorOptions) {
    super(message, options, "LIBVIRT_NOT_CONNECTED");
  }
}

export class ProtocolError extends KvmonError {
  override name = "ProtocolError";
  constructor(message: string, options?: KvmonErrorOptions, code = "LIBVIRT_PROTOCOL") {
    super(code, message, options);
  }
}

/** Unrecoverable framing failure (bad length word): the connection must be dropped. */
export class FramingError extends ProtocolError {
  override name = "FramingError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super(message, options, "LIBVIRT_FRAMING");
  }
}

export class AuthError extends KvmonError {
  override name = "AuthError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("LIBVIRT_AUTH", message, options);
  }
}

export class UriError extends KvmonError {
  override name = "UriError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("LIBVIRT_URI", message, options);
  }
}

/** onMessage for a (program, procedure) that already has a handler: two owners would steal each other's events. */
export class DuplicateHandlerError extends KvmonError {
  override name = "DuplicateHandlerError";
  constructor(message: string) {
    super("LIBVIRT_DUPLICATE_HANDLER", message);
  }
}

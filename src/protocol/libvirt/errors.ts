/**
 * Errors of the libvirt client, flat and named, each keeping `cause`:
 * - LibvirtError: the daemon answered with remote_error (every field kept, plus helpers such as isNoDomain);
 * - ConnectionClosedError: the connection went away; pending calls fail with it at once ("interrupted");
 * - NotConnectedError: a call made while a reconnecting connection is down (fails fast, nothing is sent);
 * - TimeoutError: no reply within the call's deadline;
 * - ProtocolError / FramingError: the peer sent bytes that do not follow the protocol;
 * - AuthError: the daemon only offers authentication this client does not implement (SASL).
 */

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

export class LibvirtError extends Error {
  override name = "LibvirtError";
  readonly code: number;
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
    super(fields.message ?? `libvirt error code ${fields.code}`, { cause: options?.cause });
    this.code = fields.code;
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
    return this.code === ErrorCode.NO_DOMAIN;
  }
  /** ACCESS_DENIED (polkit/ACL) or OPERATION_DENIED (write call on a read-only connection). */
  isAccessDenied(): boolean {
    return this.code === ErrorCode.ACCESS_DENIED || this.code === ErrorCode.OPERATION_DENIED;
  }
  isNoSupport(): boolean {
    return this.code === ErrorCode.NO_SUPPORT || this.code === ErrorCode.OPERATION_UNSUPPORTED;
  }
  isOperationInvalid(): boolean {
    return this.code === ErrorCode.OPERATION_INVALID;
  }
  /**
   * The guest agent cannot be used: not connected or not answering (AGENT_UNRESPONSIVE, AGENT_UNSYNCED), or
   * the domain has no agent channel at all (QEMU answers ARGUMENT_UNSUPPORTED "QEMU guest agent is not
   * configured"; only that message counts, as the code is also used for unrelated bad flags).
   */
  isAgentUnavailable(): boolean {
    if (this.code === ErrorCode.AGENT_UNRESPONSIVE || this.code === ErrorCode.AGENT_UNSYNCED) return true;
    return this.code === ErrorCode.ARGUMENT_UNSUPPORTED && /guest agent is not configured/.test(this.message);
  }
}

export class ConnectionClosedError extends Error {
  override name = "ConnectionClosedError";
  constructor(message = "interrupted: connection to libvirt closed", options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class NotConnectedError extends ConnectionClosedError {
  override name = "NotConnectedError";
  constructor(message = "not connected to libvirt (reconnecting)", options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class TimeoutError extends Error {
  override name = "TimeoutError";
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(`${what} timed out after ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** Unrecoverable framing failure (bad length word): the connection must be dropped. */
export class FramingError extends ProtocolError {
  override name = "FramingError";
}

export class AuthError extends Error {
  override name = "AuthError";
}

/**
 * Public API of the libvirt client. Import from here, not from the individual files, so the internals can
 * move. Codec pieces (XDR schemas, procedure declarations) are exported for callers that add procedures.
 */

export type { Codec, Infer } from "../xdr/schema.ts";
export { x } from "../xdr/schema.ts";
export { AsyncQueue } from "../../shared/async-queue.ts";
export type { ClientEvents, GetAllDomainStatsOptions, LibvirtClientOptions } from "./client.ts";
export { LibvirtClient } from "./client.ts";
export type { CallOptions } from "./dispatcher.ts";
export { Dispatcher } from "./dispatcher.ts";
export {
  AuthError,
  ConnectionClosedError,
  DuplicateHandlerError,
  ErrorCode,
  ErrorLevel,
  FramingError,
  LibvirtError,
  libvirtErrorCode,
  NotConnectedError,
  ProtocolError,
  TimeoutError,
  UriError,
} from "./errors.ts";
export type { EventSubscription } from "./events.ts";
export type { KeepaliveOptions } from "./keepalive.ts";
export { PacketStatus, PacketType, Program } from "./packet.ts";
export type { AnyDomainEventFamily, DomainEventFamily, EventOf, Procedure } from "./procedure.ts";
export { domainEvent, qemu, remote } from "./procedure.ts";
export {
  AuthType,
  DomainEventId,
  DomainEvents,
  Feature,
  GuestInfoType,
  NODE_STATS_ALL,
  P,
} from "./procedures.ts";
export type { ConnectionState, ReconnectOptions } from "./reconnecting.ts";
export { ReconnectingLibvirtConnection } from "./reconnecting.ts";
export { LibvirtStream } from "./stream.ts";
export type { TlsFiles, Transport, TransportHandlers } from "./transport.ts";
export { DEFAULT_PKI } from "./transport.ts";
export { typedParams } from "./typed-params.ts";
export * from "./types.ts";
export type { ParsedUri } from "./uri.ts";
export { parseLibvirtUri } from "./uri.ts";
/** Wire shapes for declaring new procedures (see docs/libvirt-client.md). */
export {
  domain as domainCodec,
  nonnullString,
  nullableString,
  optionalDomain,
  uuid as uuidCodec,
} from "./wire.ts";

/**
 * Opening a connection, in libvirt's own order (remote_driver.c doRemoteOpen): the socket for the URI, then
 * AUTH_LIST (+ AUTH_POLKIT when that is what is offered), the keepalive feature check (which also makes the
 * server start pinging us), and CONNECT_OPEN with the URI's name and the RO flag.
 */
import type { Dispatcher } from "./dispatcher.ts";
import { AuthError } from "./errors.ts";
import type { KeepaliveOptions } from "./keepalive.ts";
import { AuthType, CONNECT_RO, Feature, P } from "./procedures.ts";
import { connectTcp, connectTls, connectUnix, type TlsFiles, type Transport } from "./transport.ts";
import type { ParsedUri } from "./uri.ts";

/** Connects the transport the parsed URI asks for. */
export function openTransport(
  target: ParsedUri,
  tlsOverride: TlsFiles | undefined,
  timeoutMs: number,
): Promise<Transport> {
  switch (target.transport) {
    case "unix":
      return connectUnix(target.socketPath!, timeoutMs);
    case "tcp":
      return connectTcp(target.host!, target.port!, timeoutMs);
    case "tls":
      return connectTls(target.host!, target.port!, { ...target.tls, ...tlsOverride }, timeoutMs);
  }
}

export async function handshake(
  d: Dispatcher,
  target: ParsedUri,
  keepalive: KeepaliveOptions | false | undefined,
  timeoutMs: number,
): Promise<void> {
  const o = { timeoutMs };
  const { types } = await d.call(P.AUTH_LIST, undefined, o);
  if (types.length > 0 && !types.includes(AuthType.NONE)) {
    if (!types.includes(AuthType.POLKIT)) {
      throw new AuthError(`libvirt offers only auth types [${types}]; SASL is not supported`);
    }
    const { complete } = await d.call(P.AUTH_POLKIT, undefined, o);
    if (!complete) throw new AuthError("polkit authentication did not complete");
  }
  if (keepalive !== false) {
    const { supported } = await d.call(P.CONNECT_SUPPORTS_FEATURE, { feature: Feature.PROGRAM_KEEPALIVE }, o);
    if (supported) d.startKeepalive(keepalive ?? {});
  }
  await d.call(P.CONNECT_OPEN, { name: target.name, flags: target.readOnly ? CONNECT_RO : 0 }, o);
}

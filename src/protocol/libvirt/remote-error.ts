/**
 * remote_error, the payload of every REPLY/ERROR and STREAM/ERROR. Field order per virnetprotocol.x:
 * code, domain, message?, level, dom?, str1?, str2?, str3?, int1, int2, net?. `message` is optional on the
 * wire (go-libvirt assumes it is present; we do not).
 */
import { type Infer, x } from "../xdr/schema.ts";
import { LibvirtError } from "./errors.ts";
import { nonnullString, nullableString, optionalDomain, uuid } from "./wire.ts";

export const remoteError = x.struct({
  code: x.int,
  domain: x.int,
  message: nullableString,
  level: x.int,
  dom: optionalDomain,
  str1: nullableString,
  str2: nullableString,
  str3: nullableString,
  int1: x.int,
  int2: x.int,
  net: x.optional(x.struct({ name: nonnullString, uuid })),
});

export type RemoteError = Infer<typeof remoteError>;

export function toLibvirtError(e: RemoteError, procedure?: string): LibvirtError {
  return new LibvirtError(e, { procedure });
}

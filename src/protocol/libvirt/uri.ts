/**
 * libvirt connection URIs → where to connect and the name to send in CONNECT_OPEN.
 *
 *   driver[+transport]://[user@][host][:port]/path[?params]
 *
 * transport: unix (default without host), tcp (port 16509), tls (default with a host, port 16514). ssh/ext
 * need a subprocess and are refused. The name sent to the daemon is the URI without transport, host, port and
 * our client-side params, as libvirt's remote driver does ("qemu+unix:///system?socket=..." → "qemu:///system").
 * Client-side params: socket=PATH, mode=auto|legacy|direct, pkipath=DIR, no_verify=1, readonly[=1] (kvmon's
 * own: a read-only connection, same as `virsh -r`).
 *
 * `test:///default` is an in-process driver in the C library; here it is served by the daemon (same as
 * test+unix:///default) since this client has no drivers of its own.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { TlsFiles } from "./transport.ts";
import { UriError } from "./errors.ts";

export type TransportKind = "unix" | "tcp" | "tls";

export interface ParsedUri {
  driver: string;
  transport: TransportKind;
  /** Unix socket path (transport unix). */
  socketPath?: string;
  host?: string;
  port?: number;
  tls?: TlsFiles;
  /** Sent in CONNECT_OPEN. */
  name: string;
  readOnly: boolean;
}

/** Params the remote driver consumes on the client side; they are not forwarded to the daemon. */
const CLIENT_PARAMS = new Set([
  "name",
  "command",
  "socket",
  "auth",
  "netcat",
  "keyfile",
  "no_verify",
  "no_tty",
  "pkipath",
  "known_hosts",
  "known_hosts_verify",
  "sshauth",
  "mode",
  "proxy",
  "tls_priority",
  "readonly",
]);

export interface ParseOptions {
  /** Force a read-only connection (also selected by ?readonly). */
  readOnly?: boolean;
  /** Where libvirt's sockets live (tests point this elsewhere). */
  runDir?: string;
  /** Socket existence check, injectable for tests. */
  exists?: (p: string) => boolean;
}

export function parseLibvirtUri(uri: string, opts: ParseOptions = {}): ParsedUri {
  let u: URL;
  try {
    u = new URL(uri);
  } catch (e) {
    throw new UriError(`not a libvirt URI: '${uri}'`, { cause: e });
  }
  const scheme = u.protocol.slice(0, -1);
  const [driver, explicit] = scheme.split("+", 2) as [string, string | undefined];
  if (!driver) throw new UriError(`no driver in '${uri}'`);
  const host = u.hostname || undefined;
  const transport = (explicit ?? (host ? "tls" : "unix")) as string;
  if (transport !== "unix" && transport !== "tcp" && transport !== "tls") {
    throw new UriError(`transport '${transport}' is not supported (unix, tcp, tls only): '${uri}'`);
  }
  const params = u.searchParams;
  const ro = params.get("readonly");
  const readOnly = opts.readOnly === true || (ro !== null && ro !== "0" && ro !== "false");

  const forwarded = [...params].filter(([k]) => !CLIENT_PARAMS.has(k));
  const query = forwarded.length ? `?${new URLSearchParams(forwarded).toString()}` : "";
  const name = `${driver}://${u.pathname}${query}`;

  const parsed: ParsedUri = { driver, transport, name, readOnly };
  if (transport === "unix") {
    if (host) throw new UriError(`a unix socket URI cannot name a host: '${uri}'`);
    parsed.socketPath =
      params.get("socket") ?? defaultSocket(driver, u.pathname, readOnly, params.get("mode"), opts);
    return parsed;
  }
  if (!host) throw new UriError(`transport ${transport} needs a host: '${uri}'`);
  parsed.host = host.startsWith("[") ? host.slice(1, -1) : host;
  parsed.port = u.port ? Number(u.port) : transport === "tls" ? 16514 : 16509;
  if (transport === "tls") {
    const pki = params.get("pkipath");
    parsed.tls = {
      ...(pki
        ? {
            ca: path.join(pki, "cacert.pem"),
            cert: path.join(pki, "clientcert.pem"),
            key: path.join(pki, "clientkey.pem"),
          }
        : {}),
      noVerify: params.get("no_verify") === "1",
    };
  }
  return parsed;
}

/**
 * Picks the daemon socket: modular daemons (virtqemud-sock, ...) when present unless mode=legacy, else the
 * monolithic libvirtd's libvirt-sock; `-ro` variants for read-only. Session URIs use $XDG_RUNTIME_DIR.
 */
function defaultSocket(
  driver: string,
  pathname: string,
  readOnly: boolean,
  mode: string | null,
  opts: ParseOptions,
): string {
  const exists = opts.exists ?? existsSync;
  const session = pathname === "/session";
  const dir =
    opts.runDir ??
    (session
      ? path.join(process.env.XDG_RUNTIME_DIR ?? `/run/user/${process.getuid?.() ?? 0}`, "libvirt")
      : "/var/run/libvirt");
  // Session daemons have no read-only socket.
  const suffix = readOnly && !session ? "-sock-ro" : "-sock";
  const modular = path.join(dir, `virt${driver}d${suffix}`);
  const legacy = path.join(dir, `libvirt${suffix}`);
  if (mode === "legacy") return legacy;
  if (mode === "direct") return modular;
  if (driver !== "test" && exists(modular)) return modular;
  return legacy;
}

/**
 * The lab's own libvirtd configuration: libvirt's defaults (the unix sockets /run/libvirt/libvirt-sock and
 * libvirt-sock-ro with their default permissions and auth) plus TCP and TLS listeners on loopback, so tests
 * have real `qemu+tcp://127.0.0.1/system` and `qemu+tls://127.0.0.1/system` endpoints. libvirtd runs with
 * `-f <lab dir>/libvirtd.conf`; the system's /etc/libvirt/libvirtd.conf is left alone (and not read).
 *
 * `auth_tcp = "none"`: anyone who can open a TCP connection to 127.0.0.1:16509 gets full read-write access
 * to the system libvirtd, i.e. root on this host. Acceptable only because the listener is bound to loopback
 * on a disposable lab machine where every local user is already root; never in production, where TCP must use
 * SASL (or not be enabled at all) and TLS must verify client certificates against an allow-list.
 * `auth_tls = "none"` relies on `tls_no_verify_certificate = 0`: only a client certificate signed by the lab
 * CA completes the handshake.
 */
import type { LabPki } from "./pki.ts";
import { LabError } from "./errors.ts";

export const LISTEN_ADDR = "127.0.0.1";
export const TCP_PORT = 16509;
export const TLS_PORT = 16514;
export const TCP_URI = `qemu+tcp://${LISTEN_ADDR}/system`;
export const TLS_URI = `qemu+tls://${LISTEN_ADDR}/system`;

/** A libvirt conf string literal; refuses what libvirt's parser cannot take inside "..." unescaped. */
export function confString(value: string): string {
  if (/["\\\n\r]/.test(value)) {
    throw new LabError(
      `cannot put ${JSON.stringify(value)} into libvirtd.conf (quote, backslash or newline)`,
      {
        hint: "use a KVMON_LAB_DIR without such characters",
      },
    );
  }
  return `"${value}"`;
}

export function libvirtdLabConfig(pki: Pick<LabPki, "caCert" | "serverCert" | "serverKey">): string {
  return [
    "# Written by kvmon lab (src/lab/libvirtd-conf.ts); rewritten by every 'kvmon lab up'.",
    "# libvirt's defaults (unix sockets unchanged) plus loopback-only TCP and TLS listeners for tests.",
    "# libvirtd reads this instead of /etc/libvirt/libvirtd.conf: 'libvirtd -d --listen -f <this file>'.",
    "",
    "listen_tcp = 1",
    "listen_tls = 1",
    `listen_addr = ${confString(LISTEN_ADDR)}`,
    `tcp_port = ${confString(String(TCP_PORT))}`,
    `tls_port = ${confString(String(TLS_PORT))}`,
    "",
    "# No authentication on TCP: loopback only, lab only. NEVER in production (use SASL or no TCP at all).",
    'auth_tcp = "none"',
    "# TLS: the client certificate is the authentication (checked against the lab CA just below).",
    'auth_tls = "none"',
    "tls_no_verify_certificate = 0",
    `ca_file = ${confString(pki.caCert)}`,
    `cert_file = ${confString(pki.serverCert)}`,
    `key_file = ${confString(pki.serverKey)}`,
    "",
  ].join("\n");
}

/** libvirtd's arguments: daemonize, open the TCP/TLS listeners of `confPath` (they need `--listen`). */
export function libvirtdArgs(confPath: string): string[] {
  return ["-d", "--listen", "-f", confPath];
}

/** Whether a libvirtd command line (from /proc/PID/cmdline) was started by the lab with `confPath`. */
export function startedWithLabConfig(cmdline: readonly string[], confPath: string): boolean {
  const args = cmdline.slice(1);
  const listen = args.includes("--listen") || args.includes("-l");
  let conf: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if ((a === "-f" || a === "--config") && i + 1 < args.length) conf = args[i + 1];
    else if (a.startsWith("--config=")) conf = a.slice("--config=".length);
  }
  return listen && conf === confPath;
}

/**
 * Keys set (uncommented) in a libvirtd.conf: the lab's config does not carry the system file's settings
 * over, so `lab up` says which ones it leaves out.
 */
export function activeSettings(conf: string): string[] {
  const keys: string[] = [];
  for (const line of conf.split("\n")) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    if (m) keys.push(m[1]!);
  }
  return keys;
}

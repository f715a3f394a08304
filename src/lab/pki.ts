/**
 * The lab's x509 PKI for libvirtd's TLS listener: a CA, a server certificate for 127.0.0.1 / localhost and
 * a client certificate, made once with `openssl` under `<lab dir>/pki` and reused. The file names are
 * libvirt's own, so the directory works as a client's `?pkipath=` (cacert.pem, clientcert.pem,
 * clientkey.pem); libvirtd is pointed at the server files by the lab's libvirtd.conf (libvirtd-conf.ts).
 *
 * This is a test PKI: the CA key sits next to the certificates, unencrypted. Never reuse it elsewhere.
 */
import { access, chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { CommandError } from "./errors.ts";
import { run } from "./exec.ts";
import type { Progress } from "./progress.ts";

export interface LabPki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export function labPkiPaths(labRoot: string): LabPki {
  return pkiFiles(join(labRoot, "pki"));
}

function pkiFiles(dir: string): LabPki {
  return {
    dir,
    caCert: join(dir, "cacert.pem"),
    caKey: join(dir, "cakey.pem"),
    serverCert: join(dir, "servercert.pem"),
    serverKey: join(dir, "serverkey.pem"),
    clientCert: join(dir, "clientcert.pem"),
    clientKey: join(dir, "clientkey.pem"),
  };
}

/** Subject alternative names of the server certificate: the only addresses the TLS listener is reached by. */
export const SERVER_SAN = "IP:127.0.0.1, DNS:localhost";
export const CERT_DAYS = 3650;
/** Certificates that expire within this many seconds are made again. */
const RENEW_BEFORE_SECONDS = 30 * 24 * 3600;

/**
 * The openssl configuration: extension sections `ca`, `server`, `client` with what libvirt's GnuTLS checks
 * want (virnettlscert.c): CA:TRUE + keyCertSign on the CA; CA:FALSE, digitalSignature + keyEncipherment
 * and serverAuth / clientAuth on the leaf certificates.
 */
export function opensslConfig(): string {
  return [
    "# Written by kvmon lab (src/lab/pki.ts): extensions of the lab's test certificates.",
    "[req]",
    "distinguished_name = dn",
    "prompt = no",
    "[dn]",
    "CN = unused",
    "[ca]",
    "basicConstraints = critical, CA:TRUE",
    "keyUsage = critical, keyCertSign, cRLSign",
    "subjectKeyIdentifier = hash",
    "[server]",
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature, keyEncipherment",
    "extendedKeyUsage = serverAuth",
    `subjectAltName = ${SERVER_SAN}`,
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
    "[client]",
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature, keyEncipherment",
    "extendedKeyUsage = clientAuth",
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
    "",
  ].join("\n");
}

export const SUBJECTS = {
  ca: "/O=kvmon lab/CN=kvmon lab CA",
  server: "/O=kvmon lab/CN=localhost",
  client: "/O=kvmon lab/CN=kvmon lab client",
} as const;

const OPENSSL_TIMEOUT_MS = 60_000;

async function openssl(args: string[]): Promise<void> {
  await run("openssl", args, {
    timeoutMs: OPENSSL_TIMEOUT_MS,
    hint: "is openssl installed ('apt-get install openssl')?",
  });
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** True when every file is there and no certificate expires within RENEW_BEFORE_SECONDS. */
export async function pkiUsable(pki: LabPki): Promise<boolean> {
  const files = [pki.caCert, pki.caKey, pki.serverCert, pki.serverKey, pki.clientCert, pki.clientKey];
  for (const f of files) if (!(await exists(f))) return false;
  for (const cert of [pki.caCert, pki.serverCert, pki.clientCert]) {
    try {
      await openssl(["x509", "-noout", "-checkend", String(RENEW_BEFORE_SECONDS), "-in", cert]);
    } catch (error) {
      if (error instanceof CommandError && error.exitCode !== null) return false; // expiring, or unreadable
      throw error;
    }
  }
  return true;
}

/**
 * Makes the PKI when any part is missing or about to expire (everything again, so the three always belong
 * together). Built in a temporary directory beside it and renamed into place, so an interrupted run never
 * leaves half a PKI. Returns whether it was (re)made: a running libvirtd must then be restarted to load it.
 */
export async function ensureLabPki(
  labRoot: string,
  progress: Progress,
): Promise<{ pki: LabPki; created: boolean }> {
  const pki = labPkiPaths(labRoot);
  if (await pkiUsable(pki)) return { pki, created: false };
  progress(`pki: making the lab's CA, server and client certificates in ${pki.dir} (openssl)`);
  await mkdir(labRoot, { recursive: true, mode: 0o755 });
  const tmpRoot = `${pki.dir}.tmp-${process.pid}`;
  await rm(tmpRoot, { recursive: true, force: true });
  await mkdir(tmpRoot, { mode: 0o755 });
  try {
    const t = pkiFiles(tmpRoot);
    const f = (name: keyof Omit<LabPki, "dir">) => t[name];
    const cnf = join(tmpRoot, "openssl.cnf");
    await writeFile(cnf, opensslConfig(), { mode: 0o644 });
    const key = ["-newkey", "rsa:2048", "-nodes"];
    await openssl(
      ["req", "-config", cnf, "-x509", ...key, "-keyout", f("caKey"), "-out", f("caCert")].concat([
        "-days",
        String(CERT_DAYS),
        "-subj",
        SUBJECTS.ca,
        "-extensions",
        "ca",
      ]),
    );
    for (const kind of ["server", "client"] as const) {
      const csr = join(tmpRoot, `${kind}.csr`);
      const [certName, keyName] =
        kind === "server" ? (["serverCert", "serverKey"] as const) : (["clientCert", "clientKey"] as const);
      await openssl(
        ["req", "-config", cnf, "-new", ...key, "-keyout", f(keyName), "-out", csr].concat([
          "-subj",
          SUBJECTS[kind],
        ]),
      );
      await openssl(
        ["x509", "-req", "-in", csr, "-CA", f("caCert"), "-CAkey", f("caKey")]
          .concat(["-set_serial", `0x${randomBytes(12).toString("hex")}`, "-days", String(CERT_DAYS)])
          .concat(["-extfile", cnf, "-extensions", kind, "-out", f(certName)]),
      );
      await rm(csr);
    }
    for (const k of ["caKey", "serverKey", "clientKey"] as const) await chmod(f(k), 0o600);
    for (const c of ["caCert", "serverCert", "clientCert"] as const) await chmod(f(c), 0o644);
    await rm(pki.dir, { recursive: true, force: true });
    await rename(tmpRoot, pki.dir);
  } catch (error) {
    await rm(tmpRoot, { recursive: true, force: true });
    throw error;
  }
  progress(`pki: made (valid ${CERT_DAYS} days; server certificate for ${SERVER_SAN})`);
  return { pki, created: true };
}

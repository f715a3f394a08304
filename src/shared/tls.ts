/**
 * TLS material from files, read and checked once at start-up so a wrong path or a bad PEM is a config error
 * naming its key, not a handshake failure minutes later. Used by the agent (its HTTPS listener, its pushes to a
 * server) and by the server (its control calls to agents). The caller turns a problem into its own layer's
 * config error through `fail`.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { getCACertificates } from "node:tls";
import { Agent } from "undici";

/** Builds the caller's config error for the file named by `key`. */
export type TlsFail = (key: string, path: string, message: string, cause?: unknown) => Error;

/** Files of a TLS client: extra trusted CA, and a client certificate with its key (both or neither). */
export interface TlsClientFiles {
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
}

/** The config keys naming those files, for errors (e.g. push.0.caFile). */
export interface TlsClientKeys {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface TlsMaterial {
  /** Trusted CAs: the system's plus the configured one; absent = Node's default. */
  ca?: string[];
  cert?: string;
  key?: string;
}

function read(path: string, key: string, fail: TlsFail): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw fail(key, path, `cannot read: ${(e as Error).message}`, e);
  }
}

/** One or more PEM certificates (a CA bundle); each must parse. */
export function readCertificates(path: string, key: string, fail: TlsFail): string[] {
  const text = read(path, key, fail);
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw fail(key, path, "no PEM certificate in the file");
  for (const pem of pems) {
    try {
      new X509Certificate(pem);
    } catch (e) {
      throw fail(key, path, `bad PEM certificate: ${(e as Error).message}`, e);
    }
  }
  return pems;
}

/** The system's CAs (and NODE_EXTRA_CA_CERTS) plus the file's: trusted besides them, not instead of them. */
export function trustedCas(caFile: string, key: string, fail: TlsFail): string[] {
  return [...getCACertificates("default"), ...readCertificates(caFile, key, fail)];
}

/** A certificate and its private key, checked to belong together. */
export function readKeyPair(
  certFile: string,
  keyFile: string,
  keys: { cert: string; key: string },
  fail: TlsFail,
): { cert: string; key: string } {
  const certs = readCertificates(certFile, keys.cert, fail);
  const keyPem = read(keyFile, keys.key, fail);
  let privateKey;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (e) {
    throw fail(keys.key, keyFile, `bad PEM private key: ${(e as Error).message}`, e);
  }
  if (!new X509Certificate(certs[0]!).checkPrivateKey(privateKey))
    throw fail(keys.key, keyFile, `is not the private key of ${keys.cert} (${certFile})`);
  return { cert: certs.join("\n"), key: keyPem };
}

/** Reads a TLS client's files; null when none is configured (Node's defaults apply). */
export function readTlsClient(files: TlsClientFiles, keys: TlsClientKeys, fail: TlsFail): TlsMaterial | null {
  if ((files.certFile === null) !== (files.keyFile === null)) {
    const missing = files.certFile === null ? keys.certFile : keys.keyFile;
    throw fail(missing, "config", `a client certificate needs both ${keys.certFile} and ${keys.keyFile}`);
  }
  if (files.caFile === null && files.certFile === null) return null;
  const material: TlsMaterial = {};
  if (files.caFile !== null) material.ca = trustedCas(files.caFile, keys.caFile, fail);
  if (files.certFile !== null && files.keyFile !== null)
    Object.assign(
      material,
      readKeyPair(files.certFile, files.keyFile, { cert: keys.certFile, key: keys.keyFile }, fail),
    );
  return material;
}

/** A fetch dispatcher (`fetch(url, { dispatcher })`) connecting with this material. */
export function tlsDispatcher(material: TlsMaterial): Agent {
  return new Agent({ connect: { ...material } });
}

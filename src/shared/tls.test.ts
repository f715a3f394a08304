import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { getCACertificates } from "node:tls";
import { selfSigned } from "./testing/self-signed.ts";
import { readTlsClient, type TlsClientFiles } from "./tls.ts";

class Fail extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(message);
    this.key = key;
  }
}
const fail = (key: string, _path: string, message: string) => new Fail(key, message);
const KEYS = { caFile: "x.caFile", certFile: "x.certFile", keyFile: "x.keyFile" };
const none: TlsClientFiles = { caFile: null, certFile: null, keyFile: null };

/** Two self-signed certificates with their keys (a CA and a client pair alike for what is checked here). */
let dir: string;
const pki = { caCert: "", clientCert: "", clientKey: "", serverKey: "" };
before(() => {
  dir = mkdtempSync(join(tmpdir(), "kvmon-tls-"));
  ({ cert: pki.clientCert, key: pki.clientKey } = selfSigned(dir, "client"));
  ({ cert: pki.caCert, key: pki.serverKey } = selfSigned(dir, "ca"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const rejects = (files: Partial<TlsClientFiles>, key: string, message: RegExp) =>
  assert.throws(
    () => readTlsClient({ ...none, ...files }, KEYS, fail),
    (e: unknown) => e instanceof Fail && e.key === key && message.test(e.message),
  );

test("no files: null (Node's defaults); a CA is added to the system's; a client pair is read", () => {
  assert.equal(readTlsClient(none, KEYS, fail), null);
  const m = readTlsClient(
    { caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKey },
    KEYS,
    fail,
  )!;
  const system = getCACertificates("default");
  assert.equal(m.ca!.length, system.length + 1);
  assert.match(m.ca!.at(-1)!, /BEGIN CERTIFICATE/);
  assert.match(m.cert!, /BEGIN CERTIFICATE/);
  assert.match(m.key!, /PRIVATE KEY/);
});

test("bad files are named by their key: unreadable, not PEM, bad PEM, key of another certificate, half a pair", () => {
  rejects({ caFile: join(dir, "absent.pem") }, "x.caFile", /cannot read/);
  const junk = join(dir, "junk.pem");
  writeFileSync(junk, "hello\n");
  rejects({ caFile: junk }, "x.caFile", /no PEM certificate/);
  const broken = join(dir, "broken.pem");
  writeFileSync(broken, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  rejects({ caFile: broken }, "x.caFile", /bad PEM certificate/);
  rejects({ certFile: pki.clientCert, keyFile: junk }, "x.keyFile", /bad PEM private key/);
  rejects(
    { certFile: pki.clientCert, keyFile: pki.serverKey },
    "x.keyFile",
    /not the private key of x\.certFile/,
  );
  rejects({ certFile: pki.clientCert }, "x.keyFile", /needs both/);
  rejects({ keyFile: pki.clientKey }, "x.certFile", /needs both/);
});

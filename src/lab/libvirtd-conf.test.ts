import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { LabError } from "./errors.ts";
import {
  activeSettings,
  confString,
  libvirtdArgs,
  libvirtdLabConfig,
  startedWithLabConfig,
  TCP_URI,
  TLS_URI,
} from "./libvirtd-conf.ts";
import { ensureLabPki, labPkiPaths, opensslConfig } from "./pki.ts";

const exec = promisify(execFile);

/** libvirt's conf syntax, enough for this file: `key = "string"` or `key = integer`, comments, blank lines. */
function parseConf(text: string): Map<string, string | number> {
  const m = new Map<string, string | number>();
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const r = /^([a-z_]+) = (?:"([^"\\]*)"|(\d+))$/.exec(line);
    assert.ok(r, `not a libvirt conf line: ${line}`);
    assert.ok(!m.has(r[1]!), `duplicate key ${r[1]}`);
    m.set(r[1]!, r[2] ?? Number(r[3]));
  }
  return m;
}

test("libvirtdLabConfig: loopback TCP/TLS listeners, lab PKI, default unix sockets untouched", () => {
  const pki = labPkiPaths("/var/lib/kvmon/lab");
  const conf = parseConf(libvirtdLabConfig(pki));
  assert.deepEqual(Object.fromEntries(conf), {
    listen_tcp: 1,
    listen_tls: 1,
    listen_addr: "127.0.0.1",
    tcp_port: "16509",
    tls_port: "16514",
    auth_tcp: "none",
    auth_tls: "none",
    tls_no_verify_certificate: 0,
    ca_file: "/var/lib/kvmon/lab/pki/cacert.pem",
    cert_file: "/var/lib/kvmon/lab/pki/servercert.pem",
    key_file: "/var/lib/kvmon/lab/pki/serverkey.pem",
  });
  // Nothing about the unix sockets or their auth: libvirt's defaults stay.
  for (const key of conf.keys()) assert.doesNotMatch(key, /^unix_|^auth_unix/);
  assert.match(libvirtdLabConfig(pki), /NEVER in production/);
  assert.equal(TCP_URI, "qemu+tcp://127.0.0.1/system");
  assert.equal(TLS_URI, "qemu+tls://127.0.0.1/system");
});

test("confString refuses characters libvirt's parser cannot take in a plain string", () => {
  assert.equal(confString("/a b/c"), '"/a b/c"');
  for (const bad of ['/a"b', "/a\\b", "/a\nb"]) assert.throws(() => confString(bad), LabError);
  assert.throws(() => libvirtdLabConfig(labPkiPaths('/tmp/x"y')), LabError);
});

test("libvirtdArgs and startedWithLabConfig: only a libvirtd with --listen and our -f counts", () => {
  const conf = "/var/lib/kvmon/lab/libvirtd.conf";
  assert.deepEqual(libvirtdArgs(conf), ["-d", "--listen", "-f", conf]);
  assert.ok(startedWithLabConfig(["libvirtd", ...libvirtdArgs(conf)], conf));
  assert.ok(startedWithLabConfig(["/usr/sbin/libvirtd", "-l", `--config=${conf}`, "-d"], conf));
  assert.ok(!startedWithLabConfig(["libvirtd", "-d"], conf), "plain 'libvirtd -d' (tests restart it so)");
  assert.ok(!startedWithLabConfig(["libvirtd", "-d", "-f", conf], conf), "no --listen: no TCP/TLS");
  assert.ok(!startedWithLabConfig(["libvirtd", "-d", "--listen"], conf), "system config");
  assert.ok(!startedWithLabConfig(["libvirtd", "-d", "--listen", "-f", "/other.conf"], conf));
  assert.ok(!startedWithLabConfig([], conf), "process gone");
});

test("activeSettings lists uncommented keys of a libvirtd.conf", () => {
  assert.deepEqual(activeSettings("#listen_tls = 0\n\n# x\nmax_clients = 50\nlog_level = 1\n  # y = 2\n"), [
    "max_clients",
    "log_level",
  ]);
  assert.deepEqual(activeSettings(""), []);
});

test("opensslConfig: CA and leaf extensions as libvirt's GnuTLS checks want them", () => {
  const cnf = opensslConfig();
  assert.match(cnf, /\[ca\]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign/);
  assert.match(
    cnf,
    /\[server\][^[]*extendedKeyUsage = serverAuth\nsubjectAltName = IP:127\.0\.0\.1, DNS:localhost/,
  );
  assert.match(cnf, /\[client\][^[]*extendedKeyUsage = clientAuth/);
});

test(
  "ensureLabPki: makes a CA, server and client certificate that verify, once; remade when a file is missing",
  { timeout: 120_000 },
  async () => {
    const root = await mkdtemp(join(tmpdir(), "kvmon-pki-"));
    try {
      const lines: string[] = [];
      const first = await ensureLabPki(root, (l) => lines.push(l));
      assert.equal(first.created, true);
      const p = first.pki;
      assert.equal(p.dir, join(root, "pki"));
      const verify = await exec("openssl", ["verify", "-CAfile", p.caCert, p.serverCert, p.clientCert], {
        timeout: 30_000,
      });
      assert.equal(verify.stdout, `${p.serverCert}: OK\n${p.clientCert}: OK\n`);
      const server = (
        await exec("openssl", ["x509", "-noout", "-text", "-in", p.serverCert], { timeout: 30_000 })
      ).stdout;
      assert.match(server, /IP Address:127\.0\.0\.1, DNS:localhost/);
      assert.match(server, /TLS Web Server Authentication/);
      const client = (
        await exec("openssl", ["x509", "-noout", "-text", "-in", p.clientCert], { timeout: 30_000 })
      ).stdout;
      assert.match(client, /TLS Web Client Authentication/);
      for (const key of [p.caKey, p.serverKey, p.clientKey])
        assert.equal((await stat(key)).mode & 0o777, 0o600);

      const caBefore = await readFile(p.caCert, "utf8");
      assert.equal((await ensureLabPki(root, () => {})).created, false, "reused");
      assert.equal(await readFile(p.caCert, "utf8"), caBefore);

      await rm(p.clientKey);
      assert.equal((await ensureLabPki(root, () => {})).created, true, "remade when a file is missing");
      assert.notEqual(await readFile(p.caCert, "utf8"), caBefore, "all of it, with a new CA");

      await writeFile(p.serverCert, "garbage");
      assert.equal(
        (await ensureLabPki(root, () => {})).created,
        true,
        "remade when a certificate is unreadable",
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
);

/**
 * kvmon's libvirt client over TCP and TLS against the lab's REAL libvirtd (loopback listeners 127.0.0.1:16509
 * and :16514, see docs/lab.md), with `virsh` over the same URIs as the witness. TLS uses the lab PKI
 * (<lab dir>/pki; virsh gets it as `?pkipath=`). Error paths: a wrong CA, a client certificate from a CA the
 * server does not trust, TLS spoken to the TCP port, and ports nobody listens on all fail fast with typed
 * errors, never a hang. Read only: the lab guests are not changed.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { exec, sortedLines, virsh, withClient } from "../libvirt-helpers.ts";
import { labPaths } from "../../src/lab/config.ts";
import { ensureDaemons } from "../../src/lab/daemons.ts";
import { TCP_URI, TLS_URI } from "../../src/lab/libvirtd-conf.ts";
import { withLabLock } from "../../src/lab/lock.ts";
import { ensureLabPki, type LabPki, labPkiPaths } from "../../src/lab/pki.ts";
import { ConnectionClosedError, LibvirtClient, TimeoutError } from "../../src/protocol/libvirt/index.ts";
import { labGuests } from "../lab.ts";

const pki = labPkiPaths(labPaths().root);
const tlsFiles = { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey };
/** A second, unrelated PKI: its CA did not sign libvirtd's certificate, and libvirtd does not trust it. */
let rogueRoot: string;
let rogue: LabPki;

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
const baseline = process.getActiveResourcesInfo().sort();

before(async () => {
  process.on("unhandledRejection", onUnhandled);
  // Other integration tests restart libvirtd with a plain 'libvirtd -d' (no listeners); the lab puts its
  // listeners back (one restart) under the lab lock, as 'lab up' would. A no-op when they are there.
  await withLabLock(
    labPaths().root,
    () => {},
    () => ensureDaemons((l) => process.stderr.write(`[lab] ${l}\n`)),
  );
  rogueRoot = await mkdtemp(join(tmpdir(), "kvmon-rogue-pki-"));
  rogue = (await ensureLabPki(rogueRoot, () => {})).pki;
});

after(async () => {
  await rm(rogueRoot, { recursive: true, force: true });
  process.off("unhandledRejection", onUnhandled);
  assert.deepEqual(unhandled, [], "unhandled promise rejections");
});

/** What every transport must give: hostname, the domain list as virsh sees it, bulk stats of a lab guest. */
async function checkConnection(c: LibvirtClient, virshUri: string, sentUri: string): Promise<void> {
  assert.equal(await c.uri(), sentUri, "the name sent in CONNECT_OPEN: no host, port or client params");
  assert.equal(await c.hostname(), (await exec("hostname", [], { timeout: 10_000 })).stdout.trim());
  assert.equal(await c.hostname(), (await virsh(virshUri, "hostname")).trim());
  const ours = (await c.listAllDomains()).map((d) => d.name).sort();
  assert.deepEqual(ours, sortedLines(await virsh(virshUri, "list", "--all", "--name")));
  for (const g of labGuests) assert.ok(ours.includes(g), `${g} listed`);

  const dom = await c.lookupByName(labGuests[0]!);
  const [rec, ...more] = await c.getAllDomainStats({ domains: [dom] });
  assert.equal(more.length, 0);
  assert.ok(rec);
  assert.equal(rec.domain.name, labGuests[0]);
  assert.equal(rec.params.get("state.state"), 1, "running");
  assert.equal(typeof rec.params.get("cpu.time"), "bigint");
  assert.equal(rec.params.get("vcpu.current"), 2);
  // Same field set as virsh domstats over the same URI.
  const keys = (await virsh(virshUri, "domstats", labGuests[0]!))
    .split("\n")
    .map((l) => l.trim().split("=")[0]!)
    .filter((k) => k && !k.startsWith("Domain:"));
  assert.deepEqual([...rec.params.keys()].sort(), keys.sort());
}

test("qemu+tcp://127.0.0.1/system: hostname, domain list and bulk stats equal virsh over TCP", async () => {
  const uri = TCP_URI;
  await withClient(uri, {}, (c) => checkConnection(c, uri, "qemu:///system"));
  // Read-only over TCP: the flag travels in CONNECT_OPEN (there is no read-only TCP port).
  await withClient(`${uri}?readonly`, {}, async (c) => {
    assert.ok((await c.listAllDomains()).length >= labGuests.length);
    await assert.rejects(c.define("<domain type='qemu'><name>x</name></domain>"), /read only access/);
  });
});

test("qemu+tls://127.0.0.1/system: the lab PKI through the client's TLS options; equal to virsh over TLS", async () => {
  await withClient(TLS_URI, { tls: tlsFiles }, (c) =>
    checkConnection(c, `${TLS_URI}?pkipath=${pki.dir}`, "qemu:///system"),
  );
});

test("qemu+tls with ?pkipath= (as virsh takes it) and by host name (DNS:localhost in the certificate)", async () => {
  const viaPkipath = `${TLS_URI}?pkipath=${pki.dir}`;
  await withClient(viaPkipath, {}, (c) => checkConnection(c, viaPkipath, "qemu:///system"));
  const viaName = `qemu+tls://localhost/system?pkipath=${pki.dir}`;
  await withClient(viaName, {}, async (c) => {
    assert.equal(await c.hostname(), (await virsh(viaName, "hostname")).trim());
  });
});

/** Runs `fn`, which must reject; returns the error and how long it took. */
async function failure(fn: () => Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const t0 = performance.now();
  try {
    await fn();
  } catch (error) {
    return { error: error as Error, ms: performance.now() - t0 };
  }
  assert.fail("expected a rejection");
}

test("TLS with a CA that did not sign the server's certificate: a typed error at once, not a hang", async () => {
  const { error, ms } = await failure(() =>
    LibvirtClient.open(TLS_URI, { tls: { ...tlsFiles, ca: rogue.caCert }, connectTimeoutMs: 10_000 }),
  );
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(error.message, /^cannot connect to tls:127\.0\.0\.1:16514: .*(certificate|verify)/i);
  assert.equal((error.cause as NodeJS.ErrnoException).code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  assert.ok(ms < 5000, `failed after ${ms} ms`);
  // virsh refuses the same, for the same reason.
  const dir = await mkdtemp(join(tmpdir(), "kvmon-wrong-ca-"));
  try {
    await exec("cp", [rogue.caCert, join(dir, "cacert.pem")], { timeout: 10_000 });
    await exec("cp", [pki.clientCert, pki.clientKey, dir], { timeout: 10_000 });
    await assert.rejects(virsh(`${TLS_URI}?pkipath=${dir}`, "hostname"), /certificate|verif/i);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("TLS with a client certificate the server does not trust: libvirtd refuses, a typed error fast", async () => {
  const { error, ms } = await failure(() =>
    LibvirtClient.open(TLS_URI, {
      tls: { ca: pki.caCert, cert: rogue.clientCert, key: rogue.clientKey },
      connectTimeoutMs: 10_000,
    }),
  );
  // With TLS 1.3 our side of the handshake is done before libvirtd checks our certificate: it then closes
  // (or resets) the connection where the check byte would come.
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(
    error.message,
    /^tls:127\.0\.0\.1:16514: (server closed the connection|connection failed) after TLS handshake/,
  );
  assert.ok(ms < 5000, `failed after ${ms} ms`);
});

test("TLS spoken to the TCP port: libvirtd drops the 'packet', a typed error fast", async () => {
  const { error, ms } = await failure(() =>
    LibvirtClient.open("qemu+tls://127.0.0.1:16509/system", { tls: tlsFiles, connectTimeoutMs: 10_000 }),
  );
  assert.ok(error instanceof ConnectionClosedError || error instanceof TimeoutError, String(error));
  assert.ok(error instanceof ConnectionClosedError, `not a timeout: ${String(error)}`);
  assert.ok(ms < 5000, `failed after ${ms} ms`);
});

test("a port nobody listens on: a clear connection error within a second (TCP and TLS)", async () => {
  for (const uri of ["qemu+tcp://127.0.0.1:1/system", "qemu+tls://127.0.0.1:1/system"]) {
    const { error, ms } = await failure(() =>
      LibvirtClient.open(uri, { tls: tlsFiles, connectTimeoutMs: 10_000 }),
    );
    assert.ok(error instanceof ConnectionClosedError, `${uri}: ${String(error)}`);
    assert.match(error.message, /^cannot connect to t(cp|ls):127\.0\.0\.1:1: .*ECONNREFUSED/);
    assert.equal((error.cause as NodeJS.ErrnoException).code, "ECONNREFUSED");
    assert.ok(ms < 1000, `${uri}: failed after ${ms} ms`);
  }
});

test("missing client key file: a typed error naming the file, before any connection", async () => {
  const missing = join(rogueRoot, "no-such-key.pem");
  const { error } = await failure(() => LibvirtClient.open(TLS_URI, { tls: { ...tlsFiles, key: missing } }));
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(error.message, new RegExp(`cannot read ${missing}`));
});

test("no handle or timer left after every connection above was closed or refused", async () => {
  // libuv finishes the close requests of child-process pipes (virsh) and of a TLS socket's TCP handle a few
  // loop turns after their 'close' events: wait for that, bounded.
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline && process.getActiveResourcesInfo().length > baseline.length) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(process.getActiveResourcesInfo().sort(), baseline, "handles left open");
});

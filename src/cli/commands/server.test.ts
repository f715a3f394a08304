/**
 * `kvmon server` admin commands on a temp data dir: token create prints the token once (stored hashed) and it
 * authenticates; list and revoke; host add with an agent URL and a 0600 control-token file; the server refuses to
 * start without an admin token and names the command that makes one; usage and config errors name the flag.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { encodeWrite, REMOTE_WRITE_HEADERS, sortedLabels } from "../../protocol/remote-write/index.ts";
import { TokenStore } from "../../server/auth/tokens.ts";
import { loadServerConfig } from "../../server/config.ts";
import { startServer } from "../../server/run.ts";
import type { Labels } from "../../server/storage/types.ts";
import { FleetState } from "../../server/fleet/state.ts";
import { openStateDb, STATE_DB_FILE } from "../../server/state-db.ts";
import { run } from "../main.ts";
import { captureIo } from "../testing.ts";
import { guestMetrics } from "../../collectors/guest/metrics.ts";
import { metricCatalog, openForwarder, SAMPLES_DB_FILE, serverMounts, storeFactories } from "./server.ts";

const dir = mkdtempSync(join(tmpdir(), "kvmon-server-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function kvmon(...args: string[]) {
  const io = captureIo();
  const code = await run(["server", ...args, "--data-dir", dir], io);
  return { code, ...io };
}

function withDb<T>(fn: (tokens: TokenStore, fleet: FleetState) => T): T {
  const db = openStateDb(dir);
  try {
    return fn(new TokenStore(db), new FleetState(db));
  } finally {
    db.close();
  }
}

test("the server refuses to start without an admin token and prints the command that makes one", async () => {
  const r = await kvmon("--listen", "127.0.0.1:0");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\[SERVER_NO_ADMIN\]/);
  assert.match(
    r.stderr,
    /hint: make one first: kvmon server token create --role admin --name <you> --data-dir /,
  );
});

test("token create prints the token once; only its hash is stored; it authenticates with its role", async () => {
  const r = await kvmon("token", "create", "--role", "admin", "--name", "ada");
  assert.equal(r.code, 0, r.stderr);
  const token = r.stdout.trim();
  assert.match(token, /^kvmon_[A-Za-z0-9_-]{43}$/);
  assert.ok(!readFileSync(join(dir, STATE_DB_FILE)).includes(token), "the secret is not in the database");
  assert.deepEqual(
    withDb((t) => t.verify(token)),
    { kind: "user", name: "ada", role: "admin" },
  );
  const again = await kvmon("token", "create", "--role", "viewer", "--name", "ada");
  assert.equal(again.code, 1);
  assert.match(again.stderr, /\[TOKEN_EXISTS\] a live user token named 'ada' exists/);
});

test("token list shows ids, roles and state; revoke by name stops the token", async () => {
  const v = (await kvmon("token", "create", "--role", "viewer", "--name", "vera")).stdout.trim();
  const list = await kvmon("token", "list");
  assert.match(list.stdout, /^[0-9a-f]{12} +user +admin +ada .* live$/m);
  assert.match(list.stdout, /^[0-9a-f]{12} +user +viewer +vera .* live$/m);
  assert.ok(!list.stdout.includes(v));
  const r = await kvmon("token", "revoke", "vera");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    withDb((t) => t.verify(v)),
    null,
  );
  assert.match((await kvmon("token", "list")).stdout, /vera .* revoked /);
});

test("host add makes a host token and registers the agent's URL and control token", async () => {
  const file = join(dir, "control-token");
  const addH1 = () =>
    kvmon("host", "add", "h1", "--agent-url", "http://127.0.0.1:9477", "--control-token-file", file);
  writeFileSync(file, "agent-control-token-0123456789\n", { mode: 0o644 });
  const loose = await addH1();
  assert.equal(loose.code, 2);
  assert.match(loose.stderr, /chmod 600/);
  rmSync(file); // writeFileSync keeps an existing file's mode
  writeFileSync(file, "agent-control-token-0123456789\n", { mode: 0o600 });
  const r = await addH1();
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    withDb((t) => t.verify(r.stdout.trim())),
    { kind: "host", host: "h1" },
  );
  assert.deepEqual(
    withDb((_, f) => f.host("h1")?.agent),
    {
      url: "http://127.0.0.1:9477",
      controlToken: "agent-control-token-0123456789",
    },
  );
});

test("bad usage and bad config name what is wrong", async () => {
  const role = await kvmon("token", "create", "--role", "root", "--name", "x");
  assert.equal(role.code, 2);
  assert.match(role.stderr, /--role must be one of viewer, operator, admin/);
  const name = await kvmon("token", "create", "--role", "viewer", "--name", "../etc");
  assert.match(name.stderr, /\[TOKEN_INVALID\] name '..\/etc' must be/);
  const unknown = await kvmon("token", "frob");
  assert.equal(unknown.code, 2);
  const listen = await kvmon("--listen", "nope");
  assert.match(listen.stderr, /\[CONFIG_INVALID\] config listen \(flag --listen\): 'nope' is not host:port/);
  const tls = await kvmon("--tls-cert", "/x.pem");
  assert.match(tls.stderr, /config tlsKey \(flag --tls-cert\): TLS needs both tlsCert and tlsKey/);
  const storage = await kvmon("--storage", "ftp://x");
  assert.match(
    storage.stderr,
    /config storage \(flag --storage\): must be 'embedded' or the http\(s\):\/\/ URL/,
  );
});

test("forward targets come from the config file: checked, named in errors, each with its spool in the data dir", async () => {
  const file = join(dir, "forward.json");
  const withForward = (forward: unknown) => {
    writeFileSync(file, JSON.stringify({ forward }));
    return kvmon("--config", file, "--listen", "nope");
  };
  const badUrl = await withForward([{ name: "vm", url: "victoria:8428" }]);
  assert.match(badUrl.stderr, /config forward\.0\.url \(file .*\): must be the http\(s\):\/\/ URL/);
  const twice = await withForward([
    { name: "vm", url: "http://a/api/v1/write" },
    { name: "vm", url: "http://b/api/v1/write" },
  ]);
  assert.match(twice.stderr, /config forward \(file .*\): target names must differ/);
  const unknownKey = await withForward([{ name: "vm", url: "http://a/api/v1/write", spool: 1 }]);
  assert.match(unknownKey.stderr, /\[CONFIG_INVALID\] config forward\.0 \(file .*\): .*spool/);
  const tokenFile = join(dir, "vm.token");
  writeFileSync(tokenFile, "secret\n", { mode: 0o644 });
  writeFileSync(
    file,
    JSON.stringify({
      dataDir: dir,
      forward: [{ name: "vm", url: "http://127.0.0.1:1/api/v1/write", tokenFile, spoolMaxBytes: 65536 }],
    }),
  );
  const c = loadServerConfig({ flags: { config: file } });
  assert.deepEqual(c.forward, [
    {
      name: "vm",
      url: "http://127.0.0.1:1/api/v1/write",
      tokenFile,
      spoolMaxBytes: 65536,
      timeoutMs: 30_000,
    },
  ]);
  assert.throws(() => openForwarder(c, () => undefined), /forward\.0\.tokenFile .*chmod 600 it/);
  chmodSync(tokenFile, 0o600);
  const forwarder = openForwarder(c, () => undefined)!;
  try {
    assert.ok(existsSync(join(dir, "forward", "vm")), "its spool");
    assert.equal(forwarder.status()[0]!.name, "vm");
  } finally {
    await forwarder.stop();
  }
  assert.equal(
    openForwarder(loadServerConfig({ flags: { "data-dir": dir } }), () => undefined),
    null,
  );
});

test("the server runs with the embedded store in the data dir and takes remote_write from hosts and serves the Prometheus API to viewers", async () => {
  const viewer = (await kvmon("token", "create", "--role", "viewer", "--name", "grafana")).stdout.trim();
  const host = (await kvmon("host", "add", "h2")).stdout.trim();
  const c = loadServerConfig({ flags: { "data-dir": dir, listen: "127.0.0.1:0" }, env: {} });
  const server = await startServer(c, { storeFactory: storeFactories.embedded, mounts: serverMounts });
  try {
    assert.ok(existsSync(join(dir, SAMPLES_DB_FILE)), "the sample database is in the data dir");
    const get = (path: string, token: string) =>
      fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const health = await get("/api/v1/query?query=1%2B1", viewer);
    assert.equal(health.status, 200);
    const body = (await health.json()) as { data: { resultType: string; result: [number, string] } };
    assert.equal(body.data.resultType, "scalar");
    assert.equal(body.data.result[1], "2");
    assert.equal((await get("/api/v1/query?query=1%2B1", host)).status, 403, "a host token cannot read");
    const meta = (await (await get("/api/v1/metadata", viewer)).json()) as {
      data: Record<string, Array<{ type: string }>>;
    };
    assert.equal(meta.data.kvmon_domain_cpu_seconds_total?.[0]?.type, "counter");
    assert.ok(
      guestMetrics.every((m) => meta.data[m.name]),
      "guest families are listed",
    );
    assert.ok(Object.keys(meta.data).length >= metricCatalog().length);
    const t = Math.round(Date.now() / 1000) * 1000;
    const write = (token: string) =>
      fetch(`${server.url}/api/v1/write`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, ...REMOTE_WRITE_HEADERS },
        body: encodeWrite([
          {
            labels: sortedLabels({ __name__: "kvmon_host_cpus", host: "h2", instance: "h2:9477" }),
            samples: [{ value: 8, timestamp: t }],
          },
        ]),
      });
    assert.equal((await write(viewer)).status, 403, "a viewer token cannot write");
    assert.equal((await write(host)).status, 204);
    const metrics = await (await get("/metrics", viewer)).text();
    assert.match(metrics, /^kvmon_server_ingest_samples_total\{host="h2"\} 1$/m, "ingest is counted");
    const q = await get(`/api/v1/query?query=kvmon_host_cpus&time=${t / 1000}`, viewer);
    const got = (await q.json()) as { data: { result: Array<{ metric: Labels; value: [number, string] }> } };
    assert.deepEqual(got.data.result, [
      {
        metric: { __name__: "kvmon_host_cpus", host: "h2", instance: "h2:9477" },
        value: [t / 1000, "8"],
      },
    ]);
    const names = await get(`/api/v1/label/__name__/values?start=${t / 1000 - 60}&end=${t / 1000}`, viewer);
    assert.deepEqual(((await names.json()) as { data: string[] }).data, ["kvmon_host_cpus"]);
  } finally {
    await server.stop();
  }
});

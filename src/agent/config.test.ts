import assert from "node:assert/strict";
import { test } from "node:test";
import { socketGuestUuid } from "../collectors/guest/index.ts";
import { DEFAULT_PORT, loadConfig, parseListen } from "./config.ts";
import { ConfigError } from "./errors.ts";

test("defaults: port 9477 (not prometheus-libvirt-exporter's 9177), 10 s, read-only qemu:///system", () => {
  const c = loadConfig({ env: {} });
  assert.equal(DEFAULT_PORT, 9477);
  assert.equal(c.listenHost, "0.0.0.0");
  assert.equal(c.listenPort, 9477);
  assert.equal(c.intervalSeconds, 10);
  assert.equal(c.timeoutSeconds, 5);
  assert.equal(c.uri, "qemu:///system");
  assert.equal(c.readOnly, true);
  assert.deepEqual(c.collectors, [
    "state",
    "cpu",
    "vcpu",
    "memory",
    "block",
    "interface",
    "kvm",
    "metadata",
    "host",
    "host-usage",
  ]);
});

test("precedence: flags > env > file > defaults", () => {
  const file = JSON.stringify({ interval: 30, uri: "qemu+tcp://h/system", logLevel: "warn" });
  const c = loadConfig({
    file: "/etc/kvmon/agent.json",
    readFile: () => file,
    env: { KVMON_INTERVAL: "20", KVMON_READ_ONLY: "false" },
    flags: { interval: "15" },
  });
  assert.equal(c.intervalSeconds, 15);
  assert.equal(c.uri, "qemu+tcp://h/system");
  assert.equal(c.logLevel, "warn");
  assert.equal(c.readOnly, false);
  assert.equal(c.timeoutSeconds, 5);
});

test("collectors: exact list or +/- changes to the defaults", () => {
  assert.deepEqual(loadConfig({ env: { KVMON_COLLECTORS: "cpu,state" } }).collectors, ["state", "cpu"]);
  const c = loadConfig({ flags: { collectors: "-kvm,-metadata" } }).collectors;
  assert.ok(!c.includes("kvm") && !c.includes("metadata") && c.includes("cpu"));
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("no ConfigError thrown");
}

test("bad config: a clear error naming the key and where it came from", () => {
  const cases: [() => unknown, string, RegExp][] = [
    [() => loadConfig({ flags: { interval: "0.5" } }), "interval", /flag --interval.*at least 1/],
    [() => loadConfig({ env: { KVMON_INTERVAL: "ten" } }), "interval", /env KVMON_INTERVAL.*expected number/],
    [
      () => loadConfig({ env: { KVMON_LISTEN: "localhost:99999" } }),
      "listen",
      /env KVMON_LISTEN.*port from 0 \(any free port\) to 65535/,
    ],
    [() => loadConfig({ flags: { collectors: "cpu,bogus" } }), "collectors", /unknown collector 'bogus'/],
    [() => loadConfig({ flags: { collectors: "cpu,-kvm" } }), "collectors", /mixes/],
    [() => loadConfig({ flags: { "log-level": "loud" } }), "logLevel", /flag --log-level/],
    [() => loadConfig({ env: { KVMON_READ_ONLY: "maybe" } }), "readOnly", /env KVMON_READ_ONLY/],
    [() => loadConfig({ flags: { interval: "2", timeout: "3" } }), "timeout", /exceeds the interval/],
    [
      () => loadConfig({ file: "f.json", readFile: () => '{"intervl": 5}' }),
      "intervl",
      /file f.json.*unknown key/,
    ],
    [() => loadConfig({ file: "f.json", readFile: () => "{nope" }), "config", /not valid JSON/],
    [() => loadConfig({ file: "f.json", readFile: () => "[1]" }), "config", /JSON object/],
    [
      () =>
        loadConfig({
          file: "missing.json",
          readFile: () => {
            throw new Error("ENOENT");
          },
        }),
      "config",
      /cannot read: ENOENT/,
    ],
  ];
  for (const [fn, key, message] of cases) {
    const e = configError(fn);
    assert.equal(e.key, key, e.message);
    assert.match(e.message, message);
  }
});

test("listen forms", () => {
  assert.deepEqual(parseListen("127.0.0.1:9000", "x"), ["127.0.0.1", 9000]);
  assert.deepEqual(parseListen("[::1]:9000", "x"), ["::1", 9000]);
  assert.deepEqual(parseListen(":9000", "x"), ["0.0.0.0", 9000]);
  assert.deepEqual(parseListen("9000", "x"), ["0.0.0.0", 9000]);
});

test("guest view: off by default; a flag or env turns it on and keeps the file's tiers; bad keys name guest.*", () => {
  assert.equal(loadConfig({}).guest.enabled, false);
  const file = JSON.stringify({ guest: { fast: 5, medium: 30, slow: 20, uri: "qemu:///system" } });
  const c = loadConfig({ file: "f.json", readFile: () => file });
  assert.deepEqual(c.guest, {
    enabled: true,
    libvirt: true,
    sockets: [],
    uri: "qemu:///system",
    fastSeconds: 5,
    mediumSeconds: 30,
    slowSeconds: 20,
    callTimeoutSeconds: 2,
    custom: [],
  });
  const off = loadConfig({ file: "f.json", readFile: () => file, env: { KVMON_GUEST: "false" } });
  assert.equal(off.guest.enabled, false);
  assert.equal(off.guest.fastSeconds, 5);
  assert.equal(loadConfig({ flags: { guest: "true" } }).guest.enabled, true);
  assert.throws(
    () => loadConfig({ file: "f.json", readFile: () => JSON.stringify({ guest: { fats: 5 } }) }),
    /guest\.fats \(file f\.json\): unknown key/,
  );
  assert.throws(
    () =>
      loadConfig({ file: "f.json", readFile: () => JSON.stringify({ guest: { fast: 1, callTimeout: 3 } }) }),
    /guest\.callTimeout.*exceeds the fast tier/,
  );
});

test("guest.custom: declared commands parsed at start-up; a bad declaration names its key and the file", () => {
  const fsUsed = {
    command: "guest-get-fsinfo",
    tier: "slow",
    metrics: [
      {
        name: "filesystem_used_bytes",
        path: "return[].used-bytes",
        label: { name: "mountpoint", path: "mountpoint" },
      },
    ],
  };
  const load = (custom: unknown) =>
    loadConfig({ file: "f.json", readFile: () => JSON.stringify({ guest: { custom: [custom] } }) });
  const [c] = load(fsUsed).guest.custom;
  assert.equal(c?.command, "guest-get-fsinfo");
  assert.equal(c?.tier, "slow");
  assert.equal(c?.metrics[0]?.spec.name, "kvmon_guest_custom_filesystem_used_bytes");
  assert.deepEqual(c?.metrics[0]?.spec.labels, ["mountpoint"]);
  const bad = (custom: unknown, re: RegExp) =>
    assert.throws(
      () => load(custom),
      (e) => e instanceof ConfigError && re.test(e.message),
    );
  bad(
    { ...fsUsed, metrics: [{ ...fsUsed.metrics[0], path: "used" }] },
    /^config guest\.custom\.0\.metrics\.0\.path \(file f\.json\): must start with 'return'/,
  );
  bad({ ...fsUsed, tier: "hourly" }, /^config guest\.custom\.0\.tier \(file f\.json\)/);
  bad({ ...fsUsed, bogus: 1 }, /^config guest\.custom\.0\.bogus \(file f\.json\): unknown key/);
  bad({ ...fsUsed, command: "guest-shutdown" }, /^config guest\.custom\.0\.command .*only reads/);
});

test("guest.sockets: socket guests parsed with a stable uuid; bad entries name their key and the file", () => {
  const load = (guest: unknown) => loadConfig({ file: "f.json", readFile: () => JSON.stringify({ guest }) });
  const UUID = "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9";
  const c = load({
    libvirt: false,
    sockets: [
      { name: "vm-a", path: "/run/qemu/a.sock" },
      { name: "vm-b", path: "/run/qemu/b.sock", uuid: UUID },
    ],
  }).guest;
  assert.equal(c.enabled, true);
  assert.equal(c.libvirt, false);
  const derived = socketGuestUuid("vm-a");
  assert.match(derived, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(derived, socketGuestUuid("vm-b"));
  assert.equal(socketGuestUuid("vm-a"), derived); // the same on every start
  assert.deepEqual(c.sockets, [
    { name: "vm-a", path: "/run/qemu/a.sock", uuid: derived },
    { name: "vm-b", path: "/run/qemu/b.sock", uuid: UUID.toLowerCase() },
  ]);
  assert.deepEqual(load({}).guest.sockets, []);
  const bad = (guest: unknown, re: RegExp) =>
    assert.throws(
      () => load(guest),
      (e) => e instanceof ConfigError && re.test(e.message),
    );
  const a = { name: "vm-a", path: "/run/qemu/a.sock" };
  bad({ sockets: [a, { name: "vm-b" }] }, /^config guest\.sockets\.1\.path \(file f\.json\)/);
  bad({ sockets: [{ ...a, path: "a.sock" }] }, /^config guest\.sockets\.0\.path .*absolute path/);
  bad({ sockets: [{ ...a, name: "" }] }, /^config guest\.sockets\.0\.name .*must not be empty/);
  bad({ sockets: [{ ...a, uuid: "nope" }] }, /^config guest\.sockets\.0\.uuid .*must be a UUID/);
  bad({ sockets: [{ ...a, port: 1 }] }, /^config guest\.sockets\.0\.port .*unknown key/);
  bad({ sockets: [a, { ...a, path: "/b" }] }, /^config guest\.sockets\.1\.name .*'vm-a' is used twice/);
  bad({ sockets: [a, { ...a, name: "vm-b" }] }, /^config guest\.sockets\.1\.path .*used twice/);
  bad({ sockets: {} }, /^config guest\.sockets \(file f\.json\)/);
  bad({ libvirt: false }, /^config guest\.libvirt .*add guest\.sockets/);
  // exec and passthrough run through libvirt: without it they have nothing to run on.
  assert.throws(
    () =>
      loadConfig({
        file: "f.json",
        readFile: () => JSON.stringify({ guest: { libvirt: false, sockets: [a] }, guestExec: true }),
      }),
    (e) => e instanceof ConfigError && e.key === "guestExec",
  );
});

test("control: off by default; the token from the file or env only (no flag); exec/passthrough need the guest view", () => {
  assert.deepEqual(loadConfig({}).control, {
    token: null,
    tokenFile: null,
    auditLog: "/var/lib/kvmon/agent/audit.log",
    guestExec: false,
    guestPassthrough: false,
  });
  const c = loadConfig({
    env: { KVMON_CONTROL_TOKEN: "t".repeat(32), KVMON_GUEST: "true", KVMON_GUEST_EXEC: "yes" },
    flags: { "audit-log": "/tmp/a.log", "guest-passthrough": "true" },
  });
  assert.deepEqual(c.control, {
    token: "t".repeat(32),
    tokenFile: null,
    auditLog: "/tmp/a.log",
    guestExec: true,
    guestPassthrough: true,
  });
  assert.throws(
    () => loadConfig({ env: { KVMON_GUEST_EXEC: "true" } }),
    (e) =>
      e instanceof ConfigError && e.key === "guestExec" && /env KVMON_GUEST_EXEC.*guest view/.test(e.message),
  );
  assert.throws(
    () => loadConfig({ file: "c.json", readFile: () => '{"guestPassthrough": true}' }),
    (e) => e instanceof ConfigError && e.key === "guestPassthrough",
  );
  assert.throws(() => loadConfig({ env: { KVMON_GUEST_EXEC: "maybe" } }), ConfigError);
});

test("push targets: file list with defaults, env/flag URL list, and named errors", () => {
  const file = JSON.stringify({
    interval: 15,
    push: [
      {
        url: "https://kvmon.example:8443",
        kind: "kvmon",
        tokenFile: "/etc/kvmon/host.token",
        caFile: "/etc/kvmon/ca.pem",
        certFile: "/etc/kvmon/agent.pem",
        keyFile: "/etc/kvmon/agent-key.pem",
      },
      {
        url: "http://vm:8428/api/v1/write",
        name: "vm",
        intervalSeconds: 60,
        spoolDir: "/tmp/s",
        spoolMaxBytes: 1048576,
      },
    ],
  });
  const c = loadConfig({ file: "/f.json", readFile: () => file });
  assert.deepEqual(c.push, [
    {
      name: "kvmon.example:8443",
      url: "https://kvmon.example:8443",
      kind: "kvmon",
      tokenFile: "/etc/kvmon/host.token",
      caFile: "/etc/kvmon/ca.pem",
      certFile: "/etc/kvmon/agent.pem",
      keyFile: "/etc/kvmon/agent-key.pem",
      intervalSeconds: 15,
      timeoutSeconds: 10,
      spoolDir: "/var/lib/kvmon/spool/kvmon.example_8443",
      spoolMaxBytes: 256 * 1024 * 1024,
    },
    {
      name: "vm",
      url: "http://vm:8428/api/v1/write",
      kind: "remote-write",
      tokenFile: null,
      caFile: null,
      certFile: null,
      keyFile: null,
      intervalSeconds: 60,
      timeoutSeconds: 10,
      spoolDir: "/tmp/s",
      spoolMaxBytes: 1048576,
    },
  ]);
  assert.deepEqual(loadConfig({ env: {} }).push, []);
  const env = loadConfig({ env: { KVMON_PUSH: "http://a:8428/api/v1/write, http://b:9090/api/v1/write" } });
  assert.deepEqual(
    env.push.map((t) => [t.name, t.kind, t.spoolDir]),
    [
      ["a:8428/api/v1/write", "remote-write", "/var/lib/kvmon/spool/a_8428_api_v1_write"],
      ["b:9090/api/v1/write", "remote-write", "/var/lib/kvmon/spool/b_9090_api_v1_write"],
    ],
  );
  const flag = loadConfig({ env: {}, flags: { push: "http://c/api/v1/write" } });
  assert.equal(flag.push[0]!.url, "http://c/api/v1/write");
  const bad = (push: unknown, re: RegExp) =>
    assert.throws(
      () => loadConfig({ file: "/f.json", readFile: () => JSON.stringify({ push }) }),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
    );
  bad([{ url: "ftp://x" }], /push\.0\.url.*http/);
  bad([{ url: "http://x", spool: "/s" }], /push\.0\.spool.*unknown key/);
  bad([{ url: "http://x", kind: "influx" }], /push\.0\.kind/);
  bad([{ url: "http://x", spoolMaxBytes: 10 }], /push\.0\.spoolMaxBytes/);
  bad(
    [{ url: "http://x/a" }, { url: "http://y/b", spoolDir: "/var/lib/kvmon/spool/x_a" }],
    /push\.spoolDir.*share/,
  );
});

test("tls: off by default; tlsCert and tlsKey from flags or env, both or neither", () => {
  assert.equal(loadConfig({}).tls, null);
  assert.deepEqual(loadConfig({ env: { KVMON_TLS_CERT: "/c.pem" }, flags: { "tls-key": "/k.pem" } }).tls, {
    certFile: "/c.pem",
    keyFile: "/k.pem",
  });
  assert.throws(
    () => loadConfig({ flags: { "tls-cert": "/c.pem" } }),
    (e) => e instanceof ConfigError && e.key === "tlsKey" && /flag --tls-cert.*both/.test(e.message),
  );
});

test("host identity: the machine's by default, or the configured host name and UUID", () => {
  assert.deepEqual(loadConfig({ env: {} }).identity, { hostname: null, hostUuid: null });
  const uuid = "6f2c1d9e-0b7a-4c55-9e0f-1a2b3c4d5e6f";
  const c = loadConfig({ env: { KVMON_HOST_NAME: "hv-07" }, flags: { "host-uuid": uuid } });
  assert.deepEqual(c.identity, { hostname: "hv-07", hostUuid: uuid });
  assert.throws(
    () => loadConfig({ env: { KVMON_HOST_NAME: "a b" } }),
    (e: unknown) =>
      e instanceof ConfigError && /hostName \(env KVMON_HOST_NAME\): must be a host name/.test(e.message),
  );
  assert.throws(
    () => loadConfig({ env: {}, flags: { "host-uuid": "not-a-uuid" } }),
    (e: unknown) =>
      e instanceof ConfigError && /hostUuid \(flag --host-uuid\): must be a lowercase UUID/.test(e.message),
  );
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { FamilyWriter } from "../../metrics/exposition.ts";
import { emptyGuestSample } from "../../model/guest.ts";
import { guestSampleSchema } from "../../model/guest-schema.ts";
import { counterValueSchema } from "../../model/schema.ts";
import { QgaClient, QgaUnavailableError, type QgaTransport } from "../../protocol/qga/index.ts";
import { TimeoutError } from "../../shared/errors.ts";
import { parseProcStat } from "./cpu.ts";
import { customCommandsSchema } from "./custom-config.ts";
import { boundText, GuestLimits } from "./limits.ts";
import { parseMeminfo } from "./memory.ts";
import { GuestSource } from "./source.ts";

type Reply = string | Error | ((args: unknown) => string | Error);

/** A guest agent answering each command from a table (a reply line, or an error to throw). */
function fakeAgent(table: Record<string, Reply>, calls: string[] = []): QgaTransport {
  return {
    description: "fake",
    async request(execute, args) {
      calls.push(execute);
      let r = table[execute] ?? new Error(`no reply for ${execute}`);
      if (typeof r === "function") r = r(args);
      if (r instanceof Error) throw r;
      return r;
    },
    async close() {},
  };
}

const ret = (v: unknown) => JSON.stringify({ return: v });
const info = (names: string[]) =>
  ret({
    version: "7.2.22",
    supported_commands: names.map((name) => ({ name, enabled: true, "success-response": true })),
  });

const FILE = "/proc/meminfo";
const MEMINFO =
  "MemTotal:        1000 kB\nMemFree:          400 kB\nMemAvailable:     600 kB\nCached:  100 kB\n";

function agentTable(over: Record<string, Reply> = {}): Record<string, Reply> {
  let handle = 0;
  const files = new Map<number, string>();
  return {
    "guest-info": info([
      "guest-get-users",
      "guest-get-cpustats",
      "guest-file-open",
      "guest-file-read",
      "guest-file-close",
      "guest-get-osinfo",
      "guest-get-host-name",
      "guest-get-timezone",
      "guest-network-get-interfaces",
      "guest-get-vcpus",
      "guest-get-time",
      "guest-get-fsinfo",
      "guest-get-diskstats",
    ]),
    "guest-get-users": ret([{ user: "root", "login-time": 1700000000.5 }]),
    "guest-get-cpustats": ret([{ type: "linux", cpu: 0, user: 100, nice: 0, system: 50, idle: 850 }]),
    "guest-file-open": (a) => {
      files.set(++handle, (a as { path: string }).path === FILE ? MEMINFO : "0.50 0.25 0.10 1/50 99\n");
      return ret(handle);
    },
    "guest-file-read": (a) => {
      const h = (a as { handle: number }).handle;
      const text = files.get(h) ?? "";
      files.set(h, "");
      return ret({ count: text.length, "buf-b64": Buffer.from(text).toString("base64"), eof: text === "" });
    },
    "guest-file-close": ret({}),
    "guest-get-osinfo": ret({
      id: "debian",
      "pretty-name": 'Evil "OS"\nwith newline',
      "kernel-release": "6.1",
    }),
    "guest-get-host-name": ret({ "host-name": "g1" }),
    "guest-get-timezone": ret({ zone: "UTC", offset: 0 }),
    "guest-network-get-interfaces": ret([
      {
        name: "eth0",
        "hardware-address": "52:54:00:00:00:01",
        "ip-addresses": [{ "ip-address-type": "ipv4", "ip-address": "10.0.0.2", prefix: 24 }],
        statistics: {
          "rx-bytes": 1000,
          "rx-packets": 10,
          "rx-errs": 0,
          "rx-dropped": 0,
          "tx-bytes": 2000,
          "tx-packets": 20,
          "tx-errs": 0,
          "tx-dropped": 0,
        },
      },
    ]),
    "guest-get-vcpus": ret([
      { "logical-id": 0, online: true },
      { "logical-id": 1, online: false },
    ]),
    "guest-get-time": ret(Date.now() * 1e6 + 5e9), // 5 s ahead
    "guest-get-fsinfo": ret([
      {
        name: "vda",
        mountpoint: "/mnt/data",
        type: "ext4",
        "used-bytes": 100,
        "total-bytes": 1000,
        disk: [],
      },
    ]),
    "guest-get-diskstats": ret([
      {
        name: "vda",
        major: 252,
        minor: 0,
        stats: { "read-sectors": 2, "write-sectors": 4, "read-ios": 1, "write-ios": 1 },
      },
    ]),
    ...over,
  };
}

const target = { name: "g1", uuid: "00000000-0000-0000-0000-000000000001", id: 1 };

function source(table: Record<string, Reply>, clock = { now: 1_000_000 }) {
  return new GuestSource({
    channel: () => ({ qga: new QgaClient(fakeAgent(table), { timeoutMs: 500 }) }),
    tiers: { fast: 10, medium: 120, slow: 60 },
    callTimeoutMs: 500,
    clock: () => clock.now,
  });
}

function render(s: GuestSource, guest: ReturnType<typeof emptyGuestSample>): string {
  const w = new FamilyWriter();
  const d = { guest } as Parameters<GuestSource["expose"]>[0];
  s.expose(d, w.emitter(["domain"], ["g1"]));
  return w.render();
}

test("every tier through the agent's commands: identity, users, CPU, memory, load fallback, fs, disks, network, drift", async () => {
  const clock = { now: Date.now() };
  const s = source(agentTable(), clock);
  const g = await s.fetch(target, new AbortController().signal);
  assert.equal(g.agent.status, "connected");
  assert.equal(g.agent.version, "7.2.22");
  assert.equal(g.agent.lastError, null);
  assert.equal(g.identity?.hostname, "g1");
  assert.equal(g.identity?.osPrettyName, 'Evil "OS"\ufffdwith newline');
  assert.deepEqual(g.users, [{ name: "root", domain: null, loginTime: 1700000000.5 }]);
  assert.deepEqual(g.memory, parseMeminfo(MEMINFO));
  assert.equal(g.memory?.availableBytes, 600 * 1024);
  assert.deepEqual(g.load, { load1: 0.5, load5: 0.25, load15: 0.1, source: "proc-loadavg" });
  assert.equal(g.cpu?.user, null, "no shares on the first read");
  assert.deepEqual(g.vcpus, { online: 1, total: 2 });
  assert.ok(Math.abs(g.clock!.driftSeconds - 5) < 1, String(g.clock?.driftSeconds));
  assert.deepEqual(g.filesystems, [
    { mountpoint: "/mnt/data", device: "vda", type: "ext4", usedBytes: 100, totalBytes: 1000, disks: [] },
  ]);
  assert.deepEqual(g.disks?.[0]?.readBytes, { total: 1024, perSecond: null });
  assert.equal(g.interfaces?.[0]?.addresses[0]?.address, "10.0.0.2");
  // The snapshot schema accepts it.
  assert.deepEqual(guestSampleSchema(counterValueSchema).parse(JSON.parse(JSON.stringify(g))), g);
  const text = render(s, g);
  assert.match(text, /^kvmon_guest_agent_status\{domain="g1",status="connected"\} 1$/m);
  assert.match(text, /os_pretty_name="Evil \\"OS\\"\uFFFDwith newline"/);
  assert.match(
    text,
    /^kvmon_guest_filesystem_used_bytes\{domain="g1",mountpoint="\/mnt\/data",device="vda",fstype="ext4"\} 100$/m,
  );
  assert.match(text, /^kvmon_guest_network_receive_bytes_total\{domain="g1",interface="eth0"\} 1000$/m);
});

test("CPU shares from tick deltas on the fast tier; tiers not due are not called", async () => {
  const clock = { now: 1_000_000 };
  let n = 0;
  const calls: string[] = [];
  const table = agentTable({
    "guest-get-cpustats": () => {
      n++;
      return ret([{ type: "linux", cpu: 0, user: 100 * n, nice: 0, system: 0, idle: 1000 * n - 100 * n }]);
    },
  });
  const s = new GuestSource({
    channel: () => ({ qga: new QgaClient(fakeAgent(table, calls)) }),
    tiers: { fast: 10, medium: 120, slow: 60 },
    callTimeoutMs: 500,
    clock: () => clock.now,
  });
  await s.fetch(target, new AbortController().signal);
  calls.length = 0;
  clock.now += 10_000;
  const g = await s.fetch(target, new AbortController().signal);
  assert.equal(g.cpu?.user, 0.1);
  assert.equal(g.cpu?.idle, 0.9);
  assert.ok(!calls.includes("guest-get-fsinfo") && !calls.includes("guest-get-osinfo"), calls.join());
  assert.ok(!calls.includes("guest-info"), "command list cached");
});

test("commands the agent does not list are never called", async () => {
  const calls: string[] = [];
  const s = new GuestSource({
    channel: () => ({
      qga: new QgaClient(fakeAgent(agentTable({ "guest-info": info(["guest-get-host-name"]) }), calls)),
    }),
    tiers: { fast: 10, medium: 120, slow: 60 },
    callTimeoutMs: 500,
  });
  const g = await s.fetch(target, new AbortController().signal);
  assert.deepEqual(calls.sort(), ["guest-get-host-name", "guest-info"]);
  assert.equal(g.memory, null);
  assert.equal(g.identity?.hostname, "g1");
});

test("an absent agent costs one call per back-off; AGENT_LIFECYCLE connected retries at once", async () => {
  const clock = { now: 1_000_000 };
  const calls: string[] = [];
  const table: Record<string, Reply> = {
    "guest-info": new QgaUnavailableError("QEMU guest agent is not connected"),
  };
  const s = new GuestSource({
    channel: () => ({ qga: new QgaClient(fakeAgent(table, calls)) }),
    tiers: { fast: 10, medium: 120, slow: 60 },
    callTimeoutMs: 500,
    clock: () => clock.now,
  });
  let g = await s.fetch(target, new AbortController().signal);
  assert.equal(g.agent.status, "absent");
  clock.now += 30_000;
  g = await s.fetch(target, new AbortController().signal);
  assert.equal(calls.length, 1, "no call within the back-off");
  s.agentLifecycle(target.uuid, true);
  Object.assign(table, agentTable());
  g = await s.fetch(target, new AbortController().signal);
  assert.equal(g.agent.status, "connected");
});

test("a hostile agent: garbage, wrong types, huge counts, invalid numbers become per-guest errors and caps", async () => {
  const many = Array.from({ length: 4000 }, (_, i) => ({
    name: `d${i}`,
    mountpoint: `/m${i}"\n\\`,
    type: "ext4",
    "used-bytes": 1,
    "total-bytes": 2,
    disk: [],
  }));
  const s = source(
    agentTable({
      "guest-get-users": "{not json",
      "guest-get-cpustats": ret("a string"),
      "guest-get-osinfo": Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString("latin1"),
      "guest-get-fsinfo": ret(many),
      "guest-get-diskstats": ret([{ name: "vda", major: 1, minor: 1, stats: { "read-sectors": -5 } }]),
      "guest-get-time": ret(-1),
    }),
  );
  const g = await s.fetch(target, new AbortController().signal);
  assert.equal(g.agent.status, "connected");
  assert.ok(g.agent.lastError !== null);
  assert.equal(g.users, null);
  assert.equal(g.filesystems?.length, GuestLimits.filesystems);
  assert.deepEqual(g.truncated, ["filesystems"]);
  assert.equal(g.clock, null);
  assert.equal(g.disks, null);
  const text = render(s, g);
  assert.match(text, /^kvmon_guest_truncated\{domain="g1",list="filesystems"\} 1$/m);
  assert.match(text, /mountpoint="\/m0\\"\uFFFD\\\\"/);
  assert.ok(!/\n[^#k]/.test(text), "every line is a sample or a comment");
});

test("labelled series per guest are capped", () => {
  const s = source({});
  const g = emptyGuestSample(0);
  g.interfaces = Array.from({ length: 64 }, (_, i) => ({
    name: `if${i}`,
    mac: null,
    addresses: Array.from({ length: 32 }, (_, k) => ({
      type: "ipv4" as const,
      address: `10.0.${i}.${k}`,
      prefix: 24,
    })),
    rxBytes: null,
    txBytes: null,
    rxPackets: null,
    txPackets: null,
    rxErrors: null,
    txErrors: null,
    rxDropped: null,
    txDropped: null,
  }));
  const lines = render(s, g)
    .split("\n")
    .filter((l) => /^kvmon_guest_network/.test(l));
  assert.equal(lines.length, GuestLimits.labelledSeriesPerGuest);
});

test("an unresponsive agent: the cycle ends at the first timeout, back-off follows", async () => {
  const calls: string[] = [];
  const s = new GuestSource({
    channel: () => ({
      qga: new QgaClient(fakeAgent({ "guest-info": new TimeoutError("guest-info", 500) }, calls)),
    }),
    tiers: { fast: 10, medium: 120, slow: 60 },
    callTimeoutMs: 500,
  });
  const g = await s.fetch(target, new AbortController().signal);
  assert.equal(g.agent.status, "unresponsive");
  assert.match(g.agent.lastError ?? "", /timed out/);
  await s.fetch(target, new AbortController().signal);
  assert.equal(calls.length, 1);
});

test("parsers and bounds: /proc/stat, /proc/meminfo, boundText", () => {
  assert.deepEqual(parseProcStat("cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1 2 3 4\n"), {
    user: 1,
    nice: 2,
    system: 3,
    idle: 4,
    iowait: 5,
    irq: 6,
    softirq: 7,
    steal: 8,
  });
  assert.throws(() => parseProcStat("cpu  1 x"), /not a count/);
  assert.throws(() => parseMeminfo("garbage"), /MemTotal/);
  assert.equal(boundText("a\u0000b\ud800c"), "a\ufffdb\ufffdc");
  assert.equal(boundText("x".repeat(10_000)).length, GuestLimits.stringLength);
  assert.equal(
    boundText(`${"x".repeat(GuestLimits.stringLength - 1)}😀`).length,
    GuestLimits.stringLength - 1,
  );
});

test("a guest-info reply the view cannot use: the guest is unresponsive with the reason, fetch never throws", async () => {
  const clock = { now: 1_000_000 };
  for (const reply of [
    "\u00ff garbage {",
    ret({ version: 7 }),
    JSON.stringify({ error: { class: "X", desc: "no" } }),
  ]) {
    const calls: string[] = [];
    const s = new GuestSource({
      channel: () => ({ qga: new QgaClient(fakeAgent(agentTable({ "guest-info": reply }), calls)) }),
      tiers: { fast: 10, medium: 120, slow: 60 },
      callTimeoutMs: 500,
      retryMs: 1000,
      clock: () => clock.now,
    });
    const g = await s.fetch(target, new AbortController().signal);
    assert.equal(g.agent.status, "unresponsive", reply);
    assert.match(g.agent.lastError ?? "", /^guest-info: /);
    assert.deepEqual(calls, ["guest-info"], "no other command without a usable command list");
    await s.fetch(target, new AbortController().signal);
    assert.equal(calls.length, 1, "backing off");
  }
});

test("a channel is closed when its guest restarts (new QEMU id) and when the source closes", async () => {
  const closed: number[] = [];
  let opened = 0;
  const s = new GuestSource({
    channel: () => {
      const n = ++opened;
      return { qga: new QgaClient(fakeAgent(agentTable())), close: async () => void closed.push(n) };
    },
    tiers: { fast: 10, medium: 120, slow: 60 },
    callTimeoutMs: 500,
  });
  await s.fetch(target, new AbortController().signal);
  await s.fetch({ ...target, id: 2 }, new AbortController().signal);
  assert.deepEqual(closed, [1]);
  await s.close();
  assert.deepEqual(closed, [1, 2]);
});

test("custom commands: read on their tier only where guest-info lists them, exposed as declared, bad replies per guest", async () => {
  const custom = customCommandsSchema.parse([
    {
      command: "guest-get-fsinfo",
      tier: "slow",
      metrics: [
        {
          name: "filesystem_used_bytes",
          path: "return[].used-bytes",
          label: { name: "mountpoint", path: "mountpoint" },
        },
      ],
    },
    {
      command: "guest-get-vcpus",
      tier: "fast",
      metrics: [{ name: "vcpus_online", path: "return[].online", sum: true }],
    },
    { command: "site-get-statvfs", metrics: [{ name: "site_free_bytes", path: "return.free", scale: 4096 }] },
  ]);
  const clock = { now: 1_000_000 };
  const calls: string[] = [];
  let vcpus = ret([
    { "logical-id": 0, online: true },
    { "logical-id": 1, online: true },
  ]);
  const table = agentTable({ "guest-get-vcpus": () => vcpus, "site-get-statvfs": ret({ free: 1 }) });
  const s = new GuestSource({
    channel: () => ({ qga: new QgaClient(fakeAgent(table, calls)) }),
    tiers: { fast: 10, medium: 120, slow: 60 },
    callTimeoutMs: 500,
    clock: () => clock.now,
    custom,
  });
  // Declared in the catalog at start-up, beside the built-in families.
  assert.deepEqual(
    s.metrics.slice(-3).map((m) => `${m.type} ${m.name} ${m.labels.join()}`),
    [
      "gauge kvmon_guest_custom_filesystem_used_bytes mountpoint",
      "gauge kvmon_guest_custom_vcpus_online ",
      "gauge kvmon_guest_custom_site_free_bytes ",
    ],
  );
  const g = await s.fetch(target, new AbortController().signal);
  assert.equal(g.agent.lastError, null);
  assert.ok(!calls.includes("site-get-statvfs"), "not listed by guest-info: never sent");
  assert.deepEqual(g.custom, [
    { metric: "kvmon_guest_custom_filesystem_used_bytes", label: "/mnt/data", value: 100 },
    { metric: "kvmon_guest_custom_vcpus_online", label: null, value: 2 },
  ]);
  assert.deepEqual(guestSampleSchema(counterValueSchema).parse(JSON.parse(JSON.stringify(g))), g);
  const text = render(s, g);
  assert.match(text, /^# TYPE kvmon_guest_custom_filesystem_used_bytes gauge$/m);
  assert.match(
    text,
    /^kvmon_guest_custom_filesystem_used_bytes\{domain="g1",mountpoint="\/mnt\/data"\} 100$/m,
  );
  assert.match(text, /^kvmon_guest_custom_vcpus_online\{domain="g1"\} 2$/m);
  // The fast tier again: only the fast custom command; a hostile reply is this guest's error, the rest stays.
  calls.length = 0;
  clock.now += 10_000;
  vcpus = ret({ online: "yes" });
  const h = await s.fetch(target, new AbortController().signal);
  assert.ok(calls.includes("guest-get-vcpus") && !calls.includes("guest-get-fsinfo"), calls.join());
  assert.match(h.agent.lastError ?? "", /guest-get-vcpus return\[\]\.online: expected a list, got object/);
  assert.equal(h.agent.status, "connected");
  assert.deepEqual(h.custom, g.custom, "the failed command keeps its last series");
  assert.ok(h.memory !== null);
});

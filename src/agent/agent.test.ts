import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuCollector } from "../collectors/cpu.ts";
import { loadStats, loadXml } from "../collectors/fixtures/load.ts";
import { stateCollector } from "../collectors/state.ts";
import type { DomainCollector } from "../collectors/types.ts";
import { DomainStatsFlag, DomainStatsGroup, LifecycleEventType } from "../protocol/libvirt/types.ts";
import { ErrorCode, LibvirtError } from "../protocol/libvirt/index.ts";
import { TimeoutError } from "../shared/errors.ts";
import { testAgent } from "./testing/setup.ts";

const flush = () => new Promise((r) => setImmediate(r));
/** The remote_error fields a LibvirtError carries besides code and message. */
const NO_ERROR_FIELDS = { domain: 0, level: 2, str1: null, str2: null, str3: null, int1: 0, int2: 0 };

/** Replies with these fixtures (one record each) and moves the clock to the first one's recording time. */
function reply(t: ReturnType<typeof testAgent>, ...files: string[]) {
  const loaded = files.map((f) => loadStats(f));
  t.clock.now = loaded[0]!.recordedAt;
  t.source.replyWith(loaded.map((l) => l.record));
}

test("one NOWAIT bulk call per interval with every group the collectors need; rates from two ticks", async () => {
  const t = testAgent();
  reply(t, "tcg-1.stats", "lab-1-1.stats");
  await t.agent.tick();
  reply(t, "tcg-2.stats", "lab-1-2.stats");
  await t.agent.tick();
  assert.equal(t.source.requests.length, 2);
  const req = t.source.requests[0]!;
  assert.equal(req.flags & DomainStatsFlag.NOWAIT, DomainStatsFlag.NOWAIT);
  for (const g of ["STATE", "CPU_TOTAL", "BALLOON", "VCPU", "INTERFACE", "BLOCK", "VM"] as const) {
    assert.ok(req.stats & DomainStatsGroup[g], g);
  }
  const snap = t.agent.snapshot()!;
  assert.deepEqual(
    snap.domains.map((d) => d.name),
    ["kvmon-fixture-tcg", "kvmon-lab-1"],
  );
  const tcg = snap.domains[0]!;
  assert.equal(tcg.stats.status, "ok");
  // The clock moved 8.080 s between the ticks: every rate divides by that measured gap.
  assert.equal(tcg.elapsedSeconds, 8.08);
  assert.equal(tcg.cpu!.hostCpuRatio, (11543321000 - 6401327000) / 1e9 / 8.08);
  assert.equal(snap.host.domainsByState.running, 2);
  assert.equal(snap.host.hostname, "hv1");
  assert.equal(snap.host.libvirtVersion, "9.0.0");
  assert.equal(snap.host.hypervisorVersion, "7.2.22");
  assert.ok(snap.collectors.every((c) => c.success));
  assert.equal(t.source.hostCalls, 1, "host info is cached between intervals");
});

test("a domain undefined between intervals disappears with no error; restarted it starts fresh", async () => {
  const t = testAgent();
  reply(t, "tcg-1.stats", "lab-1-1.stats");
  await t.agent.tick();
  reply(t, "lab-1-2.stats");
  await t.agent.tick();
  assert.deepEqual(
    t.agent.snapshot()!.domains.map((d) => d.name),
    ["kvmon-lab-1"],
  );
  reply(t, "tcg-restarted.stats", "lab-1-2.stats");
  await t.agent.tick();
  const tcg = t.agent.snapshot()!.domains.find((d) => d.name === "kvmon-fixture-tcg")!;
  assert.equal(tcg.cpu!.timeSeconds.perSecond, null, "no stale previous sample used");
  const problems = t.lines.filter(
    (l) => (l.level === "warn" || l.level === "error") && !String(l.problem).startsWith("metadata:"),
  );
  assert.deepEqual(problems, []);
});

test("a domain listed but missing from the reply is kept, marked missing; one answering without its job is partial", async () => {
  const t = testAgent();
  reply(t, "tcg-1.stats", "lab-1-1.stats");
  await t.agent.tick();
  await t.agent.tick();
  assert.equal(t.source.listCalls, 0, "every known domain answered: no listing needed");
  const lab = loadStats("lab-1-2.stats");
  t.source.listed = [lab.record.domain, loadStats("tcg-1.stats").record.domain];
  reply(t, "lab-1-2.stats");
  await t.agent.tick();
  assert.equal(t.source.listCalls, 1, "a known domain is absent: listed to tell missing from gone");
  let tcg = t.agent.snapshot()!.domains.find((d) => d.name === "kvmon-fixture-tcg")!;
  assert.equal(tcg.stats.status, "missing");
  assert.equal(tcg.stats.skippedTotal, 1);
  assert.equal(tcg.cpu!.timeSeconds.total, 6.401327, "last known values kept");

  // NOWAIT: the job lock is held, libvirt answers without monitor data (no balloon.rss).
  const partial = loadStats("tcg-2.stats");
  partial.record.params.delete("balloon.rss");
  t.clock.now = partial.recordedAt;
  t.source.replyWith([partial.record, lab.record]);
  await t.agent.tick();
  tcg = t.agent.snapshot()!.domains.find((d) => d.name === "kvmon-fixture-tcg")!;
  assert.equal(tcg.stats.status, "partial");
  assert.equal(tcg.stats.skippedTotal, 2);
  assert.equal(tcg.stats.lastCompleteAt, loadStats("tcg-1.stats").recordedAt);
  // Rates of what did come back are against the last COMPLETE sample (tcg-1), over the measured gap.
  assert.equal(tcg.cpu!.hostCpuRatio, (11543321000 - 6401327000) / 1e9 / 8.08);
});

test("a failed or hung stats call: last snapshot served marked stale, one log line, one recovery line", async () => {
  const t = testAgent({ timeoutMs: 30 });
  reply(t, "tcg-1.stats");
  await t.agent.tick();
  t.source.nextStats = () => new Error("libvirtd restarting");
  for (let i = 0; i < 3; i++) await t.agent.tick();
  assert.equal(t.agent.status.failedCollections, 3);
  assert.equal(t.agent.snapshot()!.domains[0]!.stats.status, "missing");
  t.source.nextStats = () => new Promise(() => {}); // never answers
  await t.agent.tick();
  assert.match(t.agent.status.lastError!, /timed out after 30 ms/);
  reply(t, "tcg-2.stats");
  await t.agent.tick();
  assert.equal(t.agent.snapshot()!.domains[0]!.stats.status, "ok");
  const msgs = t.lines
    .filter((l) => String(l.msg).includes("bulk stats"))
    .map((l) => `${l.level}:${l.msg}:${l.error ?? ""}`);
  assert.deepEqual(msgs, [
    "error:bulk stats call failed; serving the last snapshot marked stale:libvirtd restarting",
    "warn:bulk stats call timed out; retrying once:libvirt call CONNECT_GET_ALL_DOMAIN_STATS timed out after 30 ms",
    "error:bulk stats call failed; serving the last snapshot marked stale:libvirt call CONNECT_GET_ALL_DOMAIN_STATS timed out after 30 ms",
    "info:bulk stats call works again:",
    "info:bulk stats call answers in time again:",
  ]);
});

test("a timed-out call is retried once at once (the retry skips the hung domain via NOWAIT)", async () => {
  const t = testAgent();
  const rec = loadStats("tcg-1.stats");
  let calls = 0;
  t.source.nextStats = () =>
    ++calls === 1 ? new TimeoutError("libvirt call CONNECT_GET_ALL_DOMAIN_STATS", 5000) : [rec.record];
  await t.agent.tick();
  assert.equal(calls, 2);
  assert.equal(t.agent.snapshot()!.domains.length, 1);
});

test("an interval arriving while a collection is still running is skipped, not stacked", async () => {
  const t = testAgent();
  let release: (v: never[]) => void = () => {};
  t.source.nextStats = () => new Promise((r) => (release = r));
  const first = t.agent.tick();
  const second = t.agent.tick();
  release([]);
  await Promise.all([first, second]);
  assert.equal(t.source.requests.length, 1);
  assert.equal(t.agent.status.skippedIntervals, 1);
});

test("a collector failing every interval for one domain: logged once, recovery logged once, others unaffected", async () => {
  let fail = true;
  const flaky: DomainCollector = {
    ...cpuCollector,
    name: "flaky",
    collect(input, out) {
      if (fail && out.name === "kvmon-lab-1") throw new Error("bad record");
      cpuCollector.collect(input, out);
    },
  };
  const t = testAgent({ collectors: [stateCollector, flaky] });
  for (const f of ["1", "2", "1", "2"]) {
    reply(t, `tcg-${f}.stats`, `lab-1-${f}.stats`);
    await t.agent.tick();
  }
  const snap = t.agent.snapshot()!;
  const run = snap.collectors.find((c) => c.name === "flaky")!;
  assert.deepEqual([run.success, run.failedDomains], [false, 1]);
  assert.ok(snap.domains.find((d) => d.name === "kvmon-fixture-tcg")!.cpu);
  assert.equal(snap.domains.find((d) => d.name === "kvmon-lab-1")!.state!.state, "running");
  fail = false;
  await t.agent.tick();
  const relevant = t.lines.filter((l) => l.collector === "flaky");
  assert.deepEqual(
    relevant.map((l) => [l.msg, l.domain]),
    [
      ["collector failed", "kvmon-lab-1"],
      ["collector recovered", "kvmon-lab-1"],
    ],
  );
});

test("metadata: XML read once per domain, re-read after a lifecycle event, dropped on undefine", async () => {
  const t = testAgent();
  const rec = loadStats("tcg-1.stats");
  t.source.xml.set(rec.record.domain.uuid, loadXml("tcg.xml"));
  reply(t, "tcg-1.stats");
  t.agent.start(); // runs the lifecycle event consumer (and the interval timer, which may tick too)
  try {
    await t.agent.tick();
    await flush();
    await t.agent.tick();
    await t.agent.tick();
    assert.equal(t.source.xmlCalls, 1);
    const d = t.agent.snapshot()!.domains[0]!;
    assert.equal(d.metadata!.disks[0]!.target, "vda");
    assert.equal(d.interfaces![0]!.mac, "52:54:00:4b:00:01");
    t.source.events.push({ domain: rec.record.domain, event: LifecycleEventType.STARTED, detail: 0 });
    await flush();
    await t.agent.tick();
    await flush();
    assert.equal(t.source.xmlCalls, 2);
    // Undefined: gone from libvirt, so from the replies too, and its metadata is dropped at once.
    t.source.replyWith([]);
    t.source.events.push({ domain: rec.record.domain, event: LifecycleEventType.UNDEFINED, detail: 0 });
    await flush();
    assert.equal(t.agent.metadata.get(rec.record.domain.uuid), undefined);
  } finally {
    await t.agent.stop();
  }
});

test("after a reconnect, host info and metadata are read again", async () => {
  const t = testAgent();
  const rec = loadStats("tcg-1.stats");
  t.source.xml.set(rec.record.domain.uuid, loadXml("tcg.xml"));
  reply(t, "tcg-1.stats");
  await t.agent.tick();
  await flush();
  t.source.conn = { ...t.source.conn, generation: 2 };
  await t.agent.tick();
  await flush();
  assert.equal(t.source.hostCalls, 2);
  assert.equal(t.source.xmlCalls, 2);
});

test("a libvirt that rejects NOWAIT (< 4.5) is detected once; collection continues without the flag", async () => {
  const t = testAgent();
  const rec = loadStats("tcg-1.stats").record;
  t.source.domains = [rec.domain];
  t.source.nextStats = () => {
    const last = t.source.requests.at(-1)!;
    if (last.flags & DomainStatsFlag.NOWAIT) {
      return new LibvirtError({
        ...NO_ERROR_FIELDS,
        code: ErrorCode.INVALID_ARG,
        message: "unsupported flags (0x20000000) in function qemuConnectGetAllDomainStats",
      });
    }
    return [rec];
  };
  await t.agent.tick();
  await t.agent.tick();
  assert.deepEqual(
    t.source.requests.map((r) => r.flags),
    [DomainStatsFlag.NOWAIT, 0, 0],
  );
  assert.equal(t.agent.snapshot()!.domains.length, 1);
  assert.equal(t.lines.filter((l) => String(l.msg).includes("NOWAIT")).length, 1);
});

test("an unexpected exception inside a collection is logged, never an unhandled rejection", async () => {
  const t = testAgent();
  reply(t, "tcg-1.stats");
  await t.agent.tick();
  const good = t.agent.snapshot();
  // A host source returning garbage where records belong: a bug-like failure deep in the build.
  t.source.nextStats = () => [null as never];
  await t.agent.tick();
  await t.agent.tick();
  assert.equal(t.agent.snapshot(), good, "last snapshot kept");
  assert.equal(t.lines.filter((l) => l.msg === "collection failed unexpectedly").length, 1, "logged once");
  reply(t, "tcg-2.stats");
  await t.agent.tick();
  assert.equal(t.lines.filter((l) => l.msg === "collections work again").length, 1);
});

test("scheduler: a NEW libvirt connection is collected from at once, not up to an interval later", async () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const t = testAgent({ intervalMs: 3_600_000 }); // the interval alone would not tick again during this test
  const waitFor = async (n: number) => {
    for (let i = 0; i < 200 && t.agent.status.collections < n; i++) await sleep(10);
  };
  reply(t, "tcg-1.stats");
  t.agent.start();
  try {
    await waitFor(1);
    assert.equal(t.agent.status.collections, 1, "first collection as soon as connected");
    // libvirtd restarted between two ticks: down (nothing to collect from), then a new connection.
    t.source.setConnection({
      connected: false,
      state: "backoff",
      generation: 1,
      since: 0,
      lastError: "closed",
    });
    await sleep(100);
    assert.equal(t.agent.status.collections, 1, "nothing collected while disconnected");
    reply(t, "tcg-2.stats");
    t.source.setConnection({ connected: true, state: "connected", generation: 2, since: 0, lastError: null });
    await waitFor(2);
    assert.equal(t.agent.status.collections, 2, "collected on the new connection at once");
    assert.equal(t.agent.snapshot()!.domains[0]!.stats.status, "ok");
    // A failing call on a connection that stays up is not retried in a loop.
    t.source.nextStats = () => new Error("internal error");
    t.source.setConnection({ ...t.source.conn, generation: 3 });
    await waitFor(3);
    assert.equal(t.agent.status.consecutiveFailures, 1);
    await sleep(200);
    assert.equal(t.agent.status.collections, 3, "failed on the same connection: wait for the interval");
    // A new connection while a collection is in flight: collected from again right after it, no overrun.
    let release: (v: never[]) => void = () => {};
    t.source.nextStats = () => new Promise((r) => (release = r));
    t.source.setConnection({ ...t.source.conn, generation: 4 });
    await waitFor(4);
    t.source.setConnection({ ...t.source.conn, generation: 5 });
    reply(t, "tcg-2.stats");
    release([]);
    await waitFor(5);
    assert.equal(t.agent.status.collections, 5, "collected again after the in-flight one");
    assert.equal(t.agent.status.skippedIntervals, 0, "no overrun");
  } finally {
    await t.agent.stop();
  }
});

import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { loadStats } from "../collectors/fixtures/load.ts";
import { collectors as registered } from "../collectors/registry.ts";
import type { DomainSource, DomainTarget } from "../collectors/types.ts";
import { gauge } from "../metrics/catalog.ts";
import { emptyGuestSample } from "../model/guest.ts";
import type { DomainSample, Snapshot } from "../model/types.ts";
import { TimeoutError } from "../shared/errors.ts";
import { AsyncSources, RESULT_MAX_INTERVALS, SourceCallCancelled } from "./async-sources.ts";
import { createApp } from "./http.ts";
import { Logger, ProblemLog } from "./log.ts";
import { testAgent } from "./testing/setup.ts";

const INTERVAL = 10_000;
const TIMEOUT = 2_000;
const flush = () => new Promise((r) => setImmediate(r));

interface Call {
  domain: DomainTarget;
  signal: AbortSignal;
  resolve(v: string): void;
  reject(e: Error): void;
}

const up = gauge("kvmon_test_guest_up", "1 while the fake guest answers.", { source: "test" });

/** A source whose calls the test settles by hand; it ignores its signal unless told to honour it. */
function fakeSource(opts: { honourSignal?: boolean } = {}) {
  const calls: Call[] = [];
  const source: DomainSource<string> = {
    kind: "source",
    name: "fake",
    description: "test source",
    defaultEnabled: false,
    intervalMs: INTERVAL,
    timeoutMs: TIMEOUT,
    maxBackoffMs: 8 * INTERVAL,
    metrics: [up],
    fetch(domain, signal) {
      return new Promise<string>((resolve, reject) => {
        calls.push({ domain, signal, resolve, reject });
        if (opts.honourSignal) signal.addEventListener("abort", () => reject(signal.reason as Error));
      });
    },
    merge(result, fetchedAt, out) {
      out.guest = emptyGuestSample(fetchedAt);
      (out as DomainSample & { fakeResult?: string }).fakeResult = result;
    },
    expose(sample, emit) {
      if (sample.guest) emit(up, 1);
    },
  };
  return { source, calls };
}

function mockTime(t: TestContext): void {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 1_800_000_000_000 });
}

function scheduler(source: DomainSource) {
  const lines: Record<string, unknown>[] = [];
  const logger = new Logger((l) => lines.push(JSON.parse(l)), "debug");
  const s = new AsyncSources([source], { problems: new ProblemLog(logger) });
  s.start();
  return { s, lines };
}

const vm = (id = 7, name = "vm1"): DomainTarget => ({ name, uuid: `uuid-${name}`, id });

/** A snapshot with one empty domain sample per target, as the bulk tick would publish. */
function snapshotOf(...targets: DomainTarget[]): Snapshot {
  const domains = targets.map(
    (t) => ({ ...t, guest: null, trace: null, stats: { status: "ok" } }) as unknown as DomainSample,
  );
  return { domains, sources: [] } as unknown as Snapshot;
}

test("a new domain is asked at once; the result is merged into the next snapshot, never earlier", async (t) => {
  mockTime(t);
  const { source, calls } = fakeSource();
  const { s } = scheduler(source);
  s.setDomains([vm()]);
  assert.equal(calls.length, 1);
  assert.equal(s.apply(snapshotOf(vm())).domains[0]!.guest, null, "nothing before the call answers");
  calls[0]!.resolve("hello");
  await flush();
  const merged = s.apply(snapshotOf(vm()));
  assert.deepEqual(merged.domains[0]!.guest, emptyGuestSample(Date.now()));
  assert.equal((merged.domains[0] as DomainSample & { fakeResult?: string }).fakeResult, "hello");
  assert.deepEqual(
    merged.sources.map((x) => [x.name, x.calls, x.failures, x.inFlight, x.lastSuccessAt]),
    [["fake", 1, 0, 0, Date.now()]],
  );
  s.stop();
});

test("deadline: the signal aborts with TimeoutError, a failure is counted, the late result is discarded", async (t) => {
  mockTime(t);
  const { source, calls } = fakeSource();
  const { s, lines } = scheduler(source);
  s.setDomains([vm()]);
  t.mock.timers.tick(TIMEOUT - 1);
  assert.equal(calls[0]!.signal.aborted, false);
  t.mock.timers.tick(1);
  assert.ok(calls[0]!.signal.reason instanceof TimeoutError);
  let st = s.status()[0]!;
  assert.deepEqual(
    [st.failures, st.timeouts, st.inFlight],
    [1, 1, 1],
    "the slot stays busy until it settles",
  );
  assert.match(st.lastError!, /fake for vm1 timed out after 2000 ms/);
  calls[0]!.resolve("too late");
  await flush();
  st = s.status()[0]!;
  assert.deepEqual([st.lateDiscards, st.inFlight, st.lastSuccessAt], [1, 0, null]);
  assert.equal(s.apply(snapshotOf(vm())).domains[0]!.guest, null, "a late result is never merged");
  assert.equal(lines.filter((l) => l.msg === "async source failed").length, 1);
  s.stop();
});

test("single flight: a call that never settles is not joined by a second one, however many intervals pass", async (t) => {
  mockTime(t);
  const { source, calls } = fakeSource();
  const { s } = scheduler(source);
  s.setDomains([vm(), vm(3, "vm2")]);
  calls[1]!.resolve("ok"); // vm2 answers every time, vm1 never
  await flush();
  for (let i = 0; i < 5; i++) {
    t.mock.timers.tick(INTERVAL);
    await flush();
    for (const c of calls.slice(2)) c.resolve("ok");
    await flush();
  }
  assert.equal(calls.filter((c) => c.domain.name === "vm1").length, 1);
  assert.equal(calls.filter((c) => c.domain.name === "vm2").length, 6, "the other domain keeps its cadence");
  s.stop();
});

test("back-off: consecutive failures double the wait up to maxBackoffMs; a success resets it", async (t) => {
  mockTime(t);
  const { source, calls } = fakeSource();
  const { s } = scheduler(source);
  s.setDomains([vm()]);
  const started: number[] = [];
  const t0 = Date.now();
  for (let i = 0; i < 40; i++) {
    if (calls.length > started.length) {
      started.push((Date.now() - t0) / INTERVAL);
      calls.at(-1)!.reject(new Error("agent not connected"));
      await flush();
    }
    if (i === 0) assert.equal(s.status()[0]!.backingOff, 0, "one failure keeps the normal cadence");
    t.mock.timers.tick(INTERVAL);
  }
  // Intervals at which calls started: waits of 1, 2, 4, 8, 8, ... intervals (capped at maxBackoffMs).
  assert.deepEqual(started.slice(0, 7), [0, 1, 3, 7, 15, 23, 31]);
  assert.equal(s.status()[0]!.backingOff, 1);
  assert.equal(s.status()[0]!.lastError, "agent not connected");
  t.mock.timers.tick(8 * INTERVAL);
  calls.at(-1)!.resolve("back");
  await flush();
  const before = calls.length;
  t.mock.timers.tick(INTERVAL);
  assert.equal(calls.length, before + 1, "after a success, the next interval asks again");
  s.stop();
});

test("a domain that vanishes or restarts: its call is aborted and its result dropped, a fresh call for the new id", async (t) => {
  mockTime(t);
  const { source, calls } = fakeSource();
  const { s } = scheduler(source);
  s.setDomains([vm(7), vm(3, "vm2")]);
  s.setDomains([vm(8)]); // vm1 restarted (new QEMU id), vm2 gone
  assert.ok(calls[0]!.signal.reason instanceof SourceCallCancelled);
  assert.match((calls[0]!.signal.reason as Error).message, /domain restarted/);
  assert.match((calls[1]!.signal.reason as Error).message, /domain gone/);
  assert.equal(calls.length, 3, "the restarted domain is asked again at once");
  assert.equal(calls[2]!.domain.id, 8);
  calls[0]!.resolve("old process");
  calls[1]!.resolve("gone");
  await flush();
  assert.equal(s.status()[0]!.lateDiscards, 2);
  assert.equal(s.status()[0]!.failures, 0, "cancelled calls are not failures");
  calls[2]!.resolve("new process");
  await flush();
  const snap = s.apply(snapshotOf(vm(8)));
  assert.equal((snap.domains[0] as DomainSample & { fakeResult?: string }).fakeResult, "new process");
  // A result is only merged into the sample of the QEMU process it was fetched from.
  assert.equal(s.apply(snapshotOf(vm(9))).domains[0]!.guest, null);
  s.stop();
});

test(`a result older than ${RESULT_MAX_INTERVALS} intervals is no longer merged: the section goes null, not stale`, async (t) => {
  mockTime(t);
  const { source, calls } = fakeSource();
  const { s } = scheduler(source);
  s.setDomains([vm()]);
  calls[0]!.resolve("fresh");
  await flush();
  t.mock.timers.tick(RESULT_MAX_INTERVALS * INTERVAL); // later calls never answer (single flight keeps one)
  assert.notEqual(s.apply(snapshotOf(vm())).domains[0]!.guest, null);
  t.mock.timers.tick(1);
  assert.equal(s.apply(snapshotOf(vm())).domains[0]!.guest, null);
  s.stop();
});

test("stop() aborts every call in flight and arms nothing more", async (t) => {
  mockTime(t);
  const { source, calls } = fakeSource({ honourSignal: true });
  const { s } = scheduler(source);
  s.setDomains([vm(), vm(3, "vm2")]);
  s.stop();
  assert.ok(calls.every((c) => c.signal.reason instanceof SourceCallCancelled));
  await flush();
  t.mock.timers.tick(10 * INTERVAL);
  assert.equal(calls.length, 2);
  assert.deepEqual(
    [s.status()[0]!.inFlight, s.status()[0]!.failures],
    [0, 0],
    "a call that honours its signal frees its slot",
  );
});

test("a source that throws synchronously fails like one that rejects", async (t) => {
  mockTime(t);
  const { source } = fakeSource();
  const { s } = scheduler({
    ...source,
    fetch: () => {
      throw new Error("bad arguments");
    },
  });
  s.setDomains([vm()]);
  await flush();
  assert.deepEqual([s.status()[0]!.failures, s.status()[0]!.lastError], [1, "bad arguments"]);
  s.stop();
});

/** An agent over the tcg fixture with these sources besides the registered collectors, started, first tick done. */
async function runningAgent(t: TestContext, sources: DomainSource[], socketGuests?: DomainTarget[]) {
  const a = testAgent({ collectors: [...registered, ...sources], socketGuests });
  a.clock.now = Date.now();
  a.source.replyWith([loadStats("tcg-1.stats").record]);
  a.agent.start();
  t.after(() => a.agent.stop());
  t.mock.timers.tick(0);
  await flush();
  return a;
}

/** The next interval's tick, over the fixture's second record. */
async function nextInterval(t: TestContext, a: ReturnType<typeof testAgent>): Promise<void> {
  a.source.replyWith([loadStats("tcg-2.stats").record]);
  a.clock.now += INTERVAL;
  t.mock.timers.tick(INTERVAL);
  await flush();
}

test("in the agent: a source that never answers does not delay the bulk collection; its results reach /metrics and JSON", async (t) => {
  mockTime(t);
  const { source, calls } = fakeSource();
  const a = await runningAgent(t, [source]);
  const first = a.agent.snapshot()!;
  assert.equal(first.domains.length, 1, "the bulk tick published while the source's call was pending");
  assert.equal(calls.length, 1, "the running domain was handed to the source");
  assert.equal(calls[0]!.domain.uuid, first.domains[0]!.uuid);
  assert.equal(first.domains[0]!.guest, null);
  calls[0]!.resolve("hi");
  await flush();
  await nextInterval(t, a);
  const snap = a.agent.snapshot()!;
  assert.notEqual(snap, first);
  assert.deepEqual(snap.domains[0]!.guest, emptyGuestSample(Date.now() - INTERVAL));
  const app = createApp(a.agent, { clock: () => a.clock.now });
  const text = await (await app.request("/metrics")).text();
  assert.match(text, /^kvmon_test_guest_up\{domain="kvmon-fixture-tcg",uuid="[^"]+"\} 1$/m);
  assert.match(text, /^kvmon_source_calls_total\{source="fake"\} 2$/m);
  assert.match(text, /^kvmon_source_in_flight\{source="fake"\} 1$/m);
  const json = (await (await app.request("/api/v1/domains/kvmon-fixture-tcg")).json()) as {
    domain: DomainSample;
  };
  assert.deepEqual(json.domain.guest, emptyGuestSample(Date.now() - INTERVAL));
});

test("in the agent: socket guests are domains of their own (source socket), asked only by sources that accept them", async (t) => {
  mockTime(t);
  const { source, calls } = fakeSource();
  const libvirtOnly = fakeSource();
  libvirtOnly.source.name = "libvirt-only";
  libvirtOnly.source.accepts = (d) => d.socketPath === undefined;
  libvirtOnly.source.metrics = [];
  libvirtOnly.source.expose = () => undefined;
  source.accepts = (d) => d.socketPath !== undefined;
  const sock: DomainTarget = { name: "a-sock", uuid: "uuid-sock", id: 0, socketPath: "/run/a.sock" };
  const a = await runningAgent(t, [source, libvirtOnly.source], [sock]);
  assert.deepEqual(
    calls.map((c) => c.domain),
    [sock],
    "only the socket guest, with its socket path",
  );
  assert.deepEqual(
    libvirtOnly.calls.map((c) => c.domain.name),
    ["kvmon-fixture-tcg"],
  );
  calls[0]!.resolve("hi");
  await flush();
  await nextInterval(t, a);
  assert.equal(a.source.listCalls, 0, "the socket guest is no libvirt domain missing from the reply");
  const snap = a.agent.snapshot()!;
  assert.deepEqual(
    snap.domains.map((d) => [d.name, d.source]),
    [
      ["a-sock", "socket"],
      ["kvmon-fixture-tcg", undefined],
    ],
  );
  const guest = snap.domains[0]!;
  assert.deepEqual(guest.guest, emptyGuestSample(Date.now() - INTERVAL));
  assert.deepEqual(
    [guest.uuid, guest.id, guest.state, guest.cpu, guest.metadata],
    ["uuid-sock", 0, null, null, null],
  );
  assert.equal(snap.host.domainsTotal, 1, "libvirt's domain counts leave socket guests out");
  const app = createApp(a.agent, { clock: () => a.clock.now });
  const text = await (await app.request("/metrics")).text();
  assert.match(text, /^kvmon_test_guest_up\{domain="a-sock",uuid="uuid-sock"\} 1$/m);
  assert.deepEqual(
    text.split("\n").filter((l) => l.includes('domain="a-sock"')),
    ['kvmon_test_guest_up{domain="a-sock",uuid="uuid-sock"} 1'],
    "no libvirt or freshness series for a socket guest",
  );
  const json = (await (await app.request("/api/v1/domains/a-sock")).json()) as { domain: DomainSample };
  assert.equal(json.domain.source, "socket");
  assert.deepEqual(json.domain.guest, emptyGuestSample(Date.now() - INTERVAL));
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { LibvirtClient } from "./client.ts";
import { AuthError, ConnectionClosedError, LibvirtError } from "./errors.ts";
import { Program } from "./packet.ts";
import { DomainEventId, DomainEvents, P } from "./procedures.ts";
import { MockError, MockLibvirtd } from "./testing/mock-libvirtd.ts";
import {
  AgentLifecycleReason,
  AgentLifecycleState,
  type DomainStatsRecord,
  LifecycleEventType,
} from "./types.ts";

const vm = (i: number) => ({
  name: `vm${i}`,
  uuid: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
  id: i,
});

/** A mock daemon answering the connection sequence; records the procedures called, in order. */
function daemon(opts: { auth?: number[] } = {}) {
  const server = new MockLibvirtd();
  const calls: string[] = [];
  /** Records `name` and answers `value`. */
  const rec = <T>(name: string, value: T): T => {
    calls.push(name);
    return value;
  };
  server
    .on(P.AUTH_LIST, () => rec("AUTH_LIST", { types: opts.auth ?? [0] }))
    .on(P.AUTH_POLKIT, () => rec("AUTH_POLKIT", { complete: 1 }))
    .on(P.CONNECT_SUPPORTS_FEATURE, (a) =>
      rec(`FEATURE ${(a as { feature: number }).feature}`, { supported: 1 }),
    )
    .on(P.CONNECT_OPEN, (a) => rec(`OPEN ${JSON.stringify(a)}`, undefined))
    .on(P.CONNECT_CLOSE, () => rec("CLOSE", undefined))
    .on(P.CONNECT_GET_HOSTNAME, () => ({ hostname: "h1" }))
    .on(P.CONNECT_LIST_ALL_DOMAINS, () => ({ domains: [vm(1), vm(2)], ret: 2 }))
    .on(P.DOMAIN_LOOKUP_BY_NAME, () => new MockError({ code: 42, message: "Domain not found" }))
    .on(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, () => rec("REGISTER", { callbackID: 5 }))
    .on(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, (a) =>
      rec(`DEREGISTER ${JSON.stringify(a)}`, undefined),
    );
  return { server, calls };
}

test("open: AUTH_LIST, keepalive feature, CONNECT_OPEN with the URI name and RO flag; close sends CONNECT_CLOSE", async () => {
  const { server, calls } = daemon();
  const c = await LibvirtClient.open("qemu+unix:///system?socket=/nowhere&readonly", {
    transport: server.transport,
    keepalive: { intervalMs: 60_000 },
  });
  assert.equal(c.readOnly, true);
  assert.equal(await c.hostname(), "h1");
  assert.deepEqual(
    (await c.listAllDomains()).map((d) => d.name),
    ["vm1", "vm2"],
  );
  await c.close();
  assert.deepEqual(calls, ["AUTH_LIST", "FEATURE 10", 'OPEN {"name":"qemu:///system","flags":1}', "CLOSE"]);
  assert.equal(c.closed, true);
  await c.close(); // idempotent
});

test("polkit is used when offered; SASL-only fails with AuthError", async () => {
  const a = daemon({ auth: [2] });
  const c = await LibvirtClient.open("qemu:///system", { transport: a.server.transport, keepalive: false });
  assert.deepEqual(a.calls.slice(0, 2), ["AUTH_LIST", "AUTH_POLKIT"]);
  await c.close();
  const b = daemon({ auth: [1] });
  await assert.rejects(LibvirtClient.open("qemu:///system", { transport: b.server.transport }), AuthError);
  assert.equal(b.server.transport.closed, true);
});

test("daemon errors come back as LibvirtError with helpers", async () => {
  const { server } = daemon();
  const c = await LibvirtClient.open("test:///default", { transport: server.transport, keepalive: false });
  await assert.rejects(c.lookupByName("nope"), (e) => e instanceof LibvirtError && e.isNoDomain());
  await c.close();
});

test("getAllDomainStats decodes records into Maps with bigint counters", async () => {
  const { server } = daemon();
  const records: DomainStatsRecord[] = [
    {
      domain: vm(1),
      params: new Map<string, bigint | number | string>([
        ["state.state", 1],
        ["cpu.time", (1n << 64n) - 1n],
        ["block.0.name", "vda"],
      ]),
    },
    { domain: vm(2), params: new Map() },
  ];
  let seen: unknown;
  server.on(P.CONNECT_GET_ALL_DOMAIN_STATS, (a) => {
    seen = a;
    return { retStats: records };
  });
  const c = await LibvirtClient.open("qemu:///system", { transport: server.transport, keepalive: false });
  const got = await c.getAllDomainStats({ stats: 2, flags: 0x80000000 | 1 });
  assert.deepEqual(seen, { doms: [], stats: 2, flags: 0x80000001 });
  assert.deepEqual(got, records);
  await c.close();
});

test("lifecycle events: registered once, fanned out, bounded queue drops oldest, deregistered on close", async () => {
  const { server, calls } = daemon();
  const c = await LibvirtClient.open("qemu:///system", { transport: server.transport, keepalive: false });
  const a = await c.lifecycleEvents({ queueSize: 2 });
  const b = await c.lifecycleEvents();
  assert.equal(calls.filter((x) => x === "REGISTER").length, 1);
  const send = (callbackID: number, event: number) =>
    server.message(Program.REMOTE, 318, DomainEvents.LIFECYCLE.payload, {
      callbackID,
      msg: { dom: vm(1), event, detail: 0 },
    });
  send(5, LifecycleEventType.DEFINED);
  send(5, LifecycleEventType.STARTED);
  send(4, LifecycleEventType.CRASHED); // another registration's callback id: ignored
  send(5, LifecycleEventType.STOPPED);
  const firstB = await b.next();
  assert.equal(firstB.value?.event, LifecycleEventType.DEFINED);
  assert.equal(a.dropped, 1);
  const seenA = [];
  for await (const e of a) {
    seenA.push(e.event);
    if (seenA.length === 2) break;
  }
  assert.deepEqual(seenA, [LifecycleEventType.STARTED, LifecycleEventType.STOPPED]);
  await c.close();
  assert.ok(calls.includes('DEREGISTER {"callbackID":5}'));
  // Buffered events are still delivered after close, then the iteration ends.
  const rest = [];
  for await (const e of b) rest.push(e.event);
  assert.deepEqual(rest, [LifecycleEventType.STARTED, LifecycleEventType.STOPPED]);
});

test("event subscriptions end with ConnectionClosedError when the connection drops", async () => {
  const { server } = daemon();
  const c = await LibvirtClient.open("qemu:///system", { transport: server.transport, keepalive: false });
  const sub = await c.lifecycleEvents();
  const next = sub.next();
  server.transport.drop(new Error("gone"));
  await assert.rejects(next, ConnectionClosedError);
  await c.close();
});

test("a consumer that never reads does not hold up replies: its queue drops the oldest events", async () => {
  const { server } = daemon();
  const c = await LibvirtClient.open("qemu:///system", { transport: server.transport, keepalive: false });
  const idle = await c.lifecycleEvents({ queueSize: 10 });
  for (let i = 0; i < 10_000; i++) {
    server.message(Program.REMOTE, 318, DomainEvents.LIFECYCLE.payload, {
      callbackID: 5,
      msg: { dom: vm(i), event: LifecycleEventType.STARTED, detail: 0 },
    });
  }
  assert.equal(await c.hostname(), "h1");
  assert.equal(idle.size, 10);
  assert.equal(idle.dropped, 9_990);
  assert.equal((await idle.next()).value?.domain.name, "vm9990");
  await c.close();
});

test("any declared event family: one registration per family with its own event ID, decoded to its own type", async () => {
  const server = new MockLibvirtd();
  const registered: number[] = [];
  const deregistered: number[] = [];
  server
    .on(P.AUTH_LIST, () => ({ types: [0] }))
    .on(P.CONNECT_OPEN, () => undefined)
    .on(P.CONNECT_CLOSE, () => undefined)
    .on(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, (a) => {
      const { eventID } = a as { eventID: number };
      registered.push(eventID);
      return { callbackID: 100 + eventID };
    })
    .on(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, (a) => {
      deregistered.push((a as { callbackID: number }).callbackID);
    });
  const c = await LibvirtClient.open("qemu:///system", { transport: server.transport, keepalive: false });
  const agent = await c.events(DomainEvents.AGENT_LIFECYCLE);
  const agent2 = await c.events(DomainEvents.AGENT_LIFECYCLE);
  const removed = await c.events(DomainEvents.DEVICE_REMOVED);
  const lifecycle = await c.lifecycleEvents();
  assert.deepEqual(registered, [
    DomainEventId.AGENT_LIFECYCLE,
    DomainEventId.DEVICE_REMOVED,
    DomainEventId.LIFECYCLE,
  ]);

  const { AGENT_LIFECYCLE, DEVICE_REMOVED } = DomainEvents;
  server.message(Program.REMOTE, AGENT_LIFECYCLE.procedure, AGENT_LIFECYCLE.payload, {
    callbackID: 118,
    dom: vm(1),
    state: AgentLifecycleState.DISCONNECTED,
    reason: AgentLifecycleReason.CHANNEL,
  });
  server.message(Program.REMOTE, DEVICE_REMOVED.procedure, DEVICE_REMOVED.payload, {
    callbackID: 115,
    msg: { dom: vm(2), devAlias: "virtio-disk1" },
  });
  const expected = {
    domain: vm(1),
    state: AgentLifecycleState.DISCONNECTED,
    reason: AgentLifecycleReason.CHANNEL,
  };
  assert.deepEqual((await agent.next()).value, expected);
  assert.deepEqual((await agent2.next()).value, expected);
  assert.deepEqual((await removed.next()).value, { domain: vm(2), devAlias: "virtio-disk1" });
  assert.equal(lifecycle.size, 0, "a family's messages reach only its own subscribers");
  await c.close();
  assert.deepEqual(deregistered.sort(), [100, 115, 118]);
});

test("node CPU and memory stats: the field count is asked once per connection, then one call each", async () => {
  const { server } = daemon();
  const asked: string[] = [];
  const cpu = [
    { field: "kernel", value: 7n },
    { field: "user", value: 8n },
  ];
  server
    .on(P.NODE_GET_CPU_STATS, (a) => {
      const { cpuNum, nparams } = a as { cpuNum: number; nparams: number };
      asked.push(`cpu ${cpuNum} ${nparams}`);
      return nparams === 0 ? { params: [], nparams: 2 } : { params: cpu, nparams: 2 };
    })
    .on(P.NODE_GET_MEMORY_STATS, (a) => {
      const { cellNum, nparams } = a as { cellNum: number; nparams: number };
      asked.push(`memory ${cellNum} ${nparams}`);
      return nparams === 0
        ? { params: [], nparams: 1 }
        : { params: [{ field: "total", value: 9n }], nparams: 1 };
    });
  const c = await LibvirtClient.open("qemu:///system", { transport: server.transport, keepalive: false });
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(
      await c.nodeCpuStats(),
      new Map([
        ["kernel", 7n],
        ["user", 8n],
      ]),
    );
    assert.deepEqual(await c.nodeMemoryStats(), new Map([["total", 9n]]));
  }
  await c.nodeMemoryStats(0);
  assert.deepEqual(asked, [
    "cpu -1 0",
    "cpu -1 2",
    "memory -1 0",
    "memory -1 1",
    "cpu -1 2",
    "memory -1 1",
    "memory 0 0",
    "memory 0 1",
  ]);
  await c.close();
});

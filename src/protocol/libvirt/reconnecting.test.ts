import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { LibvirtClient } from "./client.ts";
import { ConnectionClosedError, NotConnectedError } from "./errors.ts";
import { Program } from "./packet.ts";
import { P } from "./procedures.ts";
import { ReconnectingLibvirtConnection } from "./reconnecting.ts";
import { MockLibvirtd } from "./testing/mock-libvirtd.ts";

const vm = { name: "vm1", uuid: "00000000-0000-0000-0000-000000000001", id: 1 };

/** Each connect() gets a fresh mock daemon; `failures` attempts fail first. */
function factory(failures: number) {
  const servers: MockLibvirtd[] = [];
  let attempts = 0;
  let registrations = 0;
  const connect = async (uri: string) => {
    attempts++;
    if (attempts <= failures) throw new ConnectionClosedError(`attempt ${attempts} refused`);
    const index = servers.length;
    const s = new MockLibvirtd()
      .on(P.AUTH_LIST, () => ({ types: [0] }))
      .on(P.CONNECT_OPEN, () => undefined)
      .on(P.CONNECT_CLOSE, () => undefined)
      .on(P.CONNECT_GET_HOSTNAME, () => ({ hostname: `h${index}` }))
      .on(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, () => ({ callbackID: ++registrations }))
      .on(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, () => undefined);
    servers.push(s);
    return LibvirtClient.open(uri, { transport: s.transport, keepalive: false });
  };
  return { servers, connect, attempts: () => attempts, registrations: () => registrations };
}

test("retries with backoff until connected; calls while down fail fast", async () => {
  const f = factory(2);
  const conn = new ReconnectingLibvirtConnection("qemu:///system", {
    connect: f.connect,
    initialDelayMs: 5,
    jitter: 0,
  });
  const delays: number[] = [];
  conn.on("connectFailed", (_e, _n, delay) => delays.push(delay));
  await assert.rejects(conn.call(P.CONNECT_GET_HOSTNAME, undefined), NotConnectedError);
  const client = await conn.waitConnected(2000);
  assert.equal(conn.state, "connected");
  assert.deepEqual(delays, [5, 10]);
  assert.equal((await conn.call(P.CONNECT_GET_HOSTNAME, undefined)).hostname, "h0");
  assert.equal(await conn.with((c) => c.hostname()), "h0");
  assert.equal(client, conn.client);
  await conn.close();
  assert.equal(conn.state, "closed");
  await assert.rejects(conn.waitConnected(), NotConnectedError);
});

test("after a drop it reconnects and re-registers lifecycle events", async () => {
  const f = factory(0);
  const conn = new ReconnectingLibvirtConnection("qemu:///system", {
    connect: f.connect,
    initialDelayMs: 5,
    jitter: 0,
  });
  await conn.waitConnected();
  const events = conn.lifecycleEvents();
  const push = (s: MockLibvirtd, callbackID: number, event: number) =>
    s.message(Program.REMOTE, 318, P.DOMAIN_EVENT_CALLBACK_LIFECYCLE.args, {
      callbackID,
      msg: { dom: vm, event, detail: 0 },
    });
  // Wait until the registration went through on the first connection.
  while (f.registrations() < 1) await new Promise((r) => setTimeout(r, 1));
  push(f.servers[0]!, 1, 2);
  assert.equal((await events.next()).value?.event, 2);

  const disconnected = once(conn, "disconnected");
  f.servers[0]!.transport.drop(new Error("daemon restarted"));
  await disconnected;
  assert.notEqual(conn.state, "connected");
  assert.throws(() => conn.client, NotConnectedError);
  await once(conn, "connected");
  while (f.registrations() < 2) await new Promise((r) => setTimeout(r, 1));
  push(f.servers[1]!, 2, 5);
  assert.equal((await events.next()).value?.event, 5);
  await conn.close();
  assert.deepEqual(await events.next(), { value: undefined, done: true });
});

test("close during backoff stops retrying and leaves no timers", async () => {
  const before = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const f = factory(1000);
  const conn = new ReconnectingLibvirtConnection("qemu:///system", {
    connect: f.connect,
    initialDelayMs: 60_000,
  });
  conn.start();
  await once(conn, "connectFailed");
  await conn.close();
  assert.equal(process.getActiveResourcesInfo().filter((r) => r === "Timeout").length, before);
  assert.equal(f.attempts(), 1);
});

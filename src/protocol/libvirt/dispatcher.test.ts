import assert from "node:assert/strict";
import { test } from "node:test";
import { x } from "../xdr/schema.ts";
import { Dispatcher } from "./dispatcher.ts";
import {
  ConnectionClosedError,
  DuplicateHandlerError,
  FramingError,
  LibvirtError,
  ProtocolError,
  TimeoutError,
} from "./errors.ts";
import { encodePacket, KeepaliveProc, PacketType, Program } from "./packet.ts";
import { remote } from "./procedure.ts";
import { P } from "./procedures.ts";
import { header, MockLibvirtd } from "./testing/mock-libvirtd.ts";

const ECHO = remote("ECHO", 900, x.struct({ n: x.int }), x.struct({ n: x.int }));

function setup(opts: { callTimeoutMs?: number } = {}) {
  const server = new MockLibvirtd();
  const d = new Dispatcher(server.transport, opts);
  const errors: ProtocolError[] = [];
  d.on("protocolError", (e) => errors.push(e));
  return { server, d, errors };
}

test("calls get increasing serials; out-of-order replies reach the right caller", async () => {
  const { server, d } = setup();
  const a = d.call(ECHO, { n: 1 });
  const b = d.call(ECHO, { n: 2 });
  const ca = await server.nextCall();
  const cb = await server.nextCall();
  assert.deepEqual([ca.header.serial, cb.header.serial], [1, 2]);
  assert.equal(ca.header.type, PacketType.CALL);
  assert.equal(ca.header.procedure, 900);
  server.reply(cb, ECHO, { n: 20 });
  server.reply(ca, ECHO, { n: 10 });
  assert.deepEqual(await Promise.all([a, b]), [{ n: 10 }, { n: 20 }]);
  assert.equal(d.pendingCount, 0);
  await d.close();
});

test("REPLY/ERROR becomes a LibvirtError naming the procedure", async () => {
  const { server, d } = setup();
  const p = d.call(ECHO, { n: 1 });
  server.replyError(await server.nextCall(), { code: 42, message: "Domain not found" });
  await assert.rejects(p, (e) => e instanceof LibvirtError && e.isNoDomain() && e.procedure === "ECHO");
  await d.close();
});

test("timeout rejects with TimeoutError; the late reply is dropped quietly", async () => {
  const { server, d, errors } = setup({ callTimeoutMs: 20 });
  const p = d.call(ECHO, { n: 1 });
  const c = await server.nextCall();
  await assert.rejects(p, TimeoutError);
  server.reply(c, ECHO, { n: 1 });
  assert.deepEqual(errors, []);
  // per-call override
  const q = d.call(ECHO, { n: 2 }, { timeoutMs: 5 });
  await assert.rejects(q, (e) => e instanceof TimeoutError && e.timeoutMs === 5);
  await d.close();
});

test("disconnect rejects every pending call at once with ConnectionClosedError (cause kept)", async () => {
  const { server, d } = setup();
  const calls = Array.from({ length: 5 }, (_, i) => d.call(ECHO, { n: i }));
  const reason = new Error("socket reset");
  server.transport.drop(reason);
  const results = await Promise.allSettled(calls);
  for (const r of results) {
    assert.equal(r.status, "rejected");
    assert.ok(r.reason instanceof ConnectionClosedError);
    assert.equal(r.reason.cause, reason);
  }
  assert.equal(d.pendingCount, 0);
  await assert.rejects(d.call(ECHO, { n: 9 }), /interrupted/);
});

test("encode errors reject the call and send nothing", async () => {
  const { server, d } = setup();
  await assert.rejects(d.call(ECHO, { n: 2 ** 40 }), /int out of range/);
  assert.equal(server.transport.written.length, 0);
  await d.close();
});

test("server PING is answered with PONG", async () => {
  const { server, d } = setup();
  const ping = header({
    program: Program.KEEPALIVE,
    procedure: KeepaliveProc.PING,
    type: PacketType.MESSAGE,
  });
  server.transport.feed(encodePacket(ping));
  const pong = await server.nextCall();
  assert.deepEqual(pong.header, { ...ping, procedure: KeepaliveProc.PONG });
  await d.close();
});

test("keepalive: we ping when idle; silence for count+1 intervals kills the connection", async (t) => {
  t.mock.timers.enable({ apis: ["setInterval", "setTimeout"] });
  const { server, d } = setup();
  const pending = d.call(ECHO, { n: 1 });
  await server.nextCall();
  d.startKeepalive({ intervalMs: 1000, count: 3 });
  for (let i = 0; i < 3; i++) {
    t.mock.timers.tick(1000);
    const p = await server.nextCall();
    assert.equal(p.header.program, Program.KEEPALIVE);
    assert.equal(p.header.procedure, KeepaliveProc.PING);
  }
  // A PONG resets the count.
  server.transport.feed(
    encodePacket(
      header({ program: Program.KEEPALIVE, procedure: KeepaliveProc.PONG, type: PacketType.MESSAGE }),
    ),
  );
  t.mock.timers.tick(1000); // saw traffic: no ping
  for (let i = 0; i < 3; i++) {
    t.mock.timers.tick(1000);
    await server.nextCall();
  }
  assert.equal(d.closed, false);
  t.mock.timers.tick(1000);
  assert.equal(d.closed, true);
  await assert.rejects(
    pending,
    (e) => e instanceof ConnectionClosedError && /keepalive/.test(String((e.cause as Error).message)),
  );
});

test("MESSAGE packets are routed by (program, procedure), not by serial", async () => {
  const { server, d, errors } = setup();
  const got: number[] = [];
  const codec = x.struct({ v: x.int });
  const off = d.onMessage(Program.REMOTE, 318, (body) => got.push(body.readInt32BE(0)));
  server.message(Program.REMOTE, 318, codec, { v: 7 });
  server.message(Program.REMOTE, 319, codec, { v: 8 }); // nobody listens: reported
  off();
  server.message(Program.REMOTE, 318, codec, { v: 9 });
  assert.deepEqual(got, [7]);
  assert.equal(errors.length, 2);
  await d.close();
});

test("onMessage refuses a second handler for the same key instead of silently replacing the first", async () => {
  const { server, d } = setup();
  const got: string[] = [];
  const codec = x.struct({ v: x.int });
  const off = d.onMessage(Program.REMOTE, 318, () => got.push("first"));
  assert.throws(() => d.onMessage(Program.REMOTE, 318, () => got.push("second")), DuplicateHandlerError);
  server.message(Program.REMOTE, 318, codec, { v: 1 });
  assert.deepEqual(got, ["first"]);
  // Another procedure, or the same one after the first owner left, is fine.
  d.onMessage(Program.REMOTE, 319, () => got.push("other"));
  off();
  d.onMessage(Program.REMOTE, 318, () => got.push("third"));
  server.message(Program.REMOTE, 318, codec, { v: 2 });
  server.message(Program.REMOTE, 319, codec, { v: 3 });
  assert.deepEqual(got, ["first", "third", "other"]);
  await d.close();
});

test("unexpected packets surface as protocolError events and never crash", async () => {
  const { server, d, errors } = setup();
  const p = d.call(ECHO, { n: 1 });
  const c = await server.nextCall();
  server.transport.feed(encodePacket(header({ serial: 999 }))); // reply to unknown serial
  server.transport.feed(encodePacket(header({ type: 7 }))); // unknown type
  server.transport.feed(encodePacket(header({ version: 2 }))); // wrong version
  server.transport.feed(encodePacket(header({ type: PacketType.STREAM, serial: 77 }))); // stream nobody opened
  server.transport.feed(encodePacket(header({ program: Program.KEEPALIVE, procedure: 9 }))); // bad keepalive
  assert.equal(errors.length, 5);
  assert.ok(errors.every((e) => e instanceof ProtocolError));
  // Wrong procedure for a live serial: that call fails with ProtocolError.
  server.transport.feed(encodePacket(header({ serial: c.header.serial, procedure: 901 })));
  await assert.rejects(p, ProtocolError);
  // Malformed body for a live call.
  const q = d.call(ECHO, { n: 2 });
  const c2 = await server.nextCall();
  server.transport.feed(encodePacket(header({ ...c2.header, type: PacketType.REPLY }))); // empty body, int expected
  await assert.rejects(q, (e) => e instanceof ProtocolError && /malformed reply/.test(e.message));
  assert.equal(d.closed, false);
  await d.close();
});

test("garbage bytes close the connection with a FramingError and fail pending calls", async () => {
  const { server, d, errors } = setup();
  const p = d.call(ECHO, { n: 1 });
  server.transport.feed(Buffer.from("GET / HTTP/1.1\r\n\r\n"));
  await assert.rejects(p, (e) => e instanceof ConnectionClosedError && e.cause instanceof FramingError);
  assert.ok(errors[0] instanceof FramingError);
  assert.equal(d.closed, true);
});

test("a truncated packet followed by a disconnect fails the call instead of hanging", async () => {
  const { server, d } = setup();
  const p = d.call(ECHO, { n: 1 });
  const c = await server.nextCall();
  const reply = encodePacket(header({ ...c.header, type: PacketType.REPLY }), ECHO.ret, { n: 1 });
  server.transport.feed(reply.subarray(0, reply.length - 2));
  server.transport.drop();
  await assert.rejects(p, ConnectionClosedError);
});

test("fuzz: random packets never throw out of the data handler nor leave calls hanging", async () => {
  let seed = 1;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let round = 0; round < 200; round++) {
    const { server, d } = setup({ callTimeoutMs: 1000 });
    const calls = [
      d.call(ECHO, { n: 1 }),
      d.call(P.CONNECT_GET_ALL_DOMAIN_STATS, { doms: [], stats: 0, flags: 0 }),
    ];
    for (let k = 0; k < 5; k++) {
      const body = Buffer.alloc(rnd() % 64);
      for (let j = 0; j < body.length; j++) body[j] = rnd() & 0xff;
      const h = header({
        program: [Program.REMOTE, Program.QEMU, Program.KEEPALIVE, rnd()][rnd() % 4],
        procedure: [900, 344, 1, rnd()][rnd() % 4],
        type: rnd() % 8,
        serial: rnd() % 4,
        status: rnd() % 4,
      });
      const pkt = encodePacket(h, x.fixedOpaque(body.length), body);
      if (rnd() % 10 === 0) pkt.writeUInt32BE(rnd(), 0); // corrupt the length word
      server.transport.feed(pkt);
    }
    await d.close();
    const settled = await Promise.allSettled(calls);
    for (const s of settled) {
      if (s.status === "rejected") {
        assert.ok(
          [ConnectionClosedError, ProtocolError, LibvirtError, TimeoutError].some(
            (C) => s.reason instanceof C,
          ),
          `round ${round}: ${s.reason}`,
        );
      }
    }
  }
});

test("no timers or handles survive close", async () => {
  const before = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const { server, d } = setup({ callTimeoutMs: 60_000 });
  d.startKeepalive({ intervalMs: 60_000 });
  const p = d.call(ECHO, { n: 1 });
  await server.nextCall();
  assert.ok(process.getActiveResourcesInfo().filter((r) => r === "Timeout").length > before);
  await d.close();
  await assert.rejects(p, ConnectionClosedError);
  assert.equal(process.getActiveResourcesInfo().filter((r) => r === "Timeout").length, before);
});

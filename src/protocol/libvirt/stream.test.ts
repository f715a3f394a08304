import assert from "node:assert/strict";
import { text } from "node:stream/consumers";
import { test } from "node:test";
import { Dispatcher } from "./dispatcher.ts";
import { ConnectionClosedError, LibvirtError, ProtocolError } from "./errors.ts";
import { encodePacket, PacketStatus, PacketType, STREAM_CHUNK_MAX } from "./packet.ts";
import { P } from "./procedures.ts";
import { remoteError } from "./remote-error.ts";
import { header, MockLibvirtd, NO_ERROR_DETAILS } from "./testing/mock-libvirtd.ts";

const dom = { name: "vm", uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f", id: 1 };

async function openConsole(opts: { streamMaxBuffered?: number } = {}) {
  const server = new MockLibvirtd();
  const d = new Dispatcher(server.transport, opts);
  const pending = d.openStream(P.DOMAIN_OPEN_CONSOLE, { dom, devName: null, flags: 0 });
  const call = await server.nextCall();
  server.reply(call, P.DOMAIN_OPEN_CONSOLE, undefined);
  const stream = await pending;
  return { server, d, call, stream };
}

test("console stream: data in order, zero-length CONTINUE is EOF", async () => {
  const { server, d, call, stream } = await openConsole();
  server.streamData(call, Buffer.from("login: "));
  server.streamData(call, Buffer.from("root\n"));
  server.streamData(call, Buffer.alloc(0));
  const chunks: string[] = [];
  for await (const c of stream) chunks.push(c.toString());
  assert.deepEqual(chunks, ["login: ", "root\n"]);
  assert.equal(await stream.read(), null);
  await d.close();
});

test("a reader waiting before data arrives is woken", async () => {
  const { server, d, call, stream } = await openConsole();
  const r = stream.read();
  server.streamData(call, Buffer.from("x"));
  assert.equal((await r)?.toString(), "x");
  await d.close();
});

test("write() sends STREAM/CONTINUE with the call's serial, split at 262120 bytes", async () => {
  const { server, d, call, stream } = await openConsole();
  stream.write(Buffer.alloc(STREAM_CHUNK_MAX + 10, 1));
  stream.write(Buffer.alloc(0)); // nothing sent: an empty CONTINUE would mean EOF
  const a = await server.nextCall();
  const b = await server.nextCall();
  for (const p of [a, b]) {
    assert.equal(p.header.type, PacketType.STREAM);
    assert.equal(p.header.status, PacketStatus.CONTINUE);
    assert.equal(p.header.serial, call.header.serial);
    assert.equal(p.header.procedure, 201);
  }
  assert.deepEqual([a.body.length, b.body.length], [STREAM_CHUNK_MAX, 10]);
  assert.equal(server.transport.packets.size, 0);
  await d.close();
});

test("finish() sends STREAM/OK and resolves on the server's OK", async () => {
  const { server, d, call, stream } = await openConsole();
  const f = stream.finish();
  const ok = await server.nextCall();
  assert.deepEqual(
    [ok.header.type, ok.header.status, ok.body.length],
    [PacketType.STREAM, PacketStatus.OK, 0],
  );
  server.streamData(call, Buffer.alloc(0), PacketStatus.OK);
  await f;
  assert.equal(stream.closed, true);
  assert.throws(() => stream.write(Buffer.from("late")), ConnectionClosedError);
  await d.close();
});

test("abort() sends STREAM/ERROR and ends the stream locally", async () => {
  const { server, d, stream } = await openConsole();
  stream.abort();
  const p = await server.nextCall();
  assert.deepEqual([p.header.type, p.header.status], [PacketType.STREAM, PacketStatus.ERROR]);
  await assert.rejects(stream.read(), ConnectionClosedError);
  await d.close();
});

test("server STREAM/ERROR becomes a LibvirtError for the reader", async () => {
  const { server, d, call, stream } = await openConsole();
  const r = stream.read();
  const e = { ...NO_ERROR_DETAILS, code: 1, message: "console died", dom: null, net: null };
  server.transport.feed(
    encodePacket(
      header({ ...call.header, type: PacketType.STREAM, status: PacketStatus.ERROR }),
      remoteError,
      e,
    ),
  );
  await assert.rejects(r, (err) => err instanceof LibvirtError && err.message === "console died");
  await d.close();
});

test("an error reply to the opening call rejects openStream", async () => {
  const server = new MockLibvirtd();
  const d = new Dispatcher(server.transport);
  const pending = d.openStream(P.DOMAIN_OPEN_CONSOLE, { dom, devName: null, flags: 0 });
  server.replyError(await server.nextCall(), { code: 55, message: "domain is not running" });
  await assert.rejects(pending, (e) => e instanceof LibvirtError && e.isOperationInvalid());
  await d.close();
});

test("disconnect fails the stream; a reader too far behind aborts it", async () => {
  const one = await openConsole();
  const r = one.stream.read();
  one.server.transport.drop();
  await assert.rejects(r, ConnectionClosedError);

  const two = await openConsole({ streamMaxBuffered: 100 });
  two.server.streamData(two.call, Buffer.alloc(80));
  two.server.streamData(two.call, Buffer.alloc(80));
  await assert.rejects(two.stream.read(), ProtocolError);
  const abort = await two.server.nextCall();
  assert.equal(abort.header.status, PacketStatus.ERROR);
  await two.d.close();
});

test("toDuplex: reads to EOF, writes become STREAM/CONTINUE, end() finishes", async () => {
  const { server, d, call, stream } = await openConsole();
  const duplex = stream.toDuplex();
  duplex.write("ls\n");
  const sent = await server.nextCall();
  assert.equal(sent.body.toString(), "ls\n");
  server.streamData(call, Buffer.from("a b c\n"));
  server.streamData(call, Buffer.alloc(0));
  assert.equal(await text(duplex), "a b c\n");
  duplex.end();
  const ok = await server.nextCall();
  assert.equal(ok.header.status, PacketStatus.OK);
  server.streamData(call, Buffer.alloc(0), PacketStatus.OK);
  await new Promise((r) => duplex.once("finish", r));
  await d.close();
});

/** The console's pump with a scripted stream: every way out puts the terminal back (raw off) exactly once. */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { setImmediate } from "node:timers/promises";
import type { LibvirtStream } from "../../protocol/libvirt/index.ts";
import { AsyncQueue } from "../../shared/async-queue.ts";
import { ESCAPE, pump } from "./console.ts";

function setup() {
  const modes: boolean[] = [];
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    isRaw: false,
    setRawMode: (m: boolean) => modes.push(m),
  });
  const stdout = Object.assign(new PassThrough(), { isTTY: true });
  const sent: Buffer[] = [];
  const guest = new AsyncQueue<Buffer>(16);
  const stream = {
    write: (b: Uint8Array) => sent.push(Buffer.from(b)),
    [Symbol.asyncIterator]: () => guest[Symbol.asyncIterator](),
  } as unknown as LibvirtStream;
  const hub = new EventEmitter();
  return { modes, stdin, stdout, sent, guest, stream, hub, env: {} };
}

test("keys go to the guest, its output to the terminal, Ctrl-] leaves with the terminal restored", async () => {
  const s = setup();
  const done = pump(s.stream, { ...s, signals: s.hub });
  s.guest.push(Buffer.from("~ # "));
  await setImmediate();
  s.stdin.write(Buffer.from("ls\r"));
  s.stdin.write(Buffer.concat([Buffer.from("x"), Buffer.from([ESCAPE]), Buffer.from("ignored")]));
  assert.deepEqual(await done, { kind: "escape" });
  assert.equal(Buffer.concat(s.sent).toString(), "ls\rx");
  assert.equal(s.stdout.read()?.toString(), "~ # ");
  assert.deepEqual(s.modes, [true, false]);
  assert.equal(s.hub.listenerCount("SIGTERM") + s.hub.listenerCount("exit"), 0, "nothing left subscribed");
});

test("the stream failing, ending, or a signal: each restores the terminal once", async () => {
  const failing = setup();
  const p1 = pump(failing.stream, { ...failing, signals: failing.hub });
  failing.guest.close(new Error("connection closed"));
  const end1 = await p1;
  assert.equal(end1.kind, "error");
  assert.deepEqual(failing.modes, [true, false]);

  const ending = setup();
  const p2 = pump(ending.stream, { ...ending, signals: ending.hub });
  ending.guest.close();
  assert.deepEqual(await p2, { kind: "stream-closed" });
  assert.deepEqual(ending.modes, [true, false]);

  const signalled = setup();
  const p3 = pump(signalled.stream, { ...signalled, signals: signalled.hub });
  signalled.hub.emit("SIGHUP");
  signalled.hub.emit("SIGTERM");
  assert.deepEqual(await p3, { kind: "signal", signal: "SIGHUP" });
  assert.deepEqual(signalled.modes, [true, false]);
});

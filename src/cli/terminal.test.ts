import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import {
  ALT_SCREEN_OFF,
  ALT_SCREEN_ON,
  openFullScreen,
  paint,
  TerminalSession,
  trapExitSignals,
} from "./terminal.ts";

function fakeTty(isTTY = true) {
  const modes: boolean[] = [];
  const written: string[] = [];
  const input = {
    isTTY,
    isRaw: false,
    setRawMode(mode: boolean) {
      modes.push(mode);
      input.isRaw = mode;
    },
  };
  const output = { isTTY, write: (t: string) => written.push(t) };
  return { input, output, modes, written, hub: new EventEmitter() };
}

test("raw mode and the alternate screen are undone once, whoever restores first", () => {
  const t = fakeTty();
  const session = new TerminalSession({ ...t, raw: true, altScreen: true }).enter();
  assert.deepEqual(t.modes, [true]);
  assert.ok(t.written[0]!.startsWith(ALT_SCREEN_ON));
  assert.equal(t.hub.listenerCount("exit"), 1);
  session.restore();
  session.restore();
  t.hub.emit("exit");
  assert.deepEqual(t.modes, [true, false], "back to cooked once");
  assert.equal(t.written.filter((w) => w.includes(ALT_SCREEN_OFF)).length, 1);
  assert.equal(t.hub.listenerCount("exit"), 0);
});

test("process exit restores a terminal the command did not (an uncaught error)", () => {
  const t = fakeTty();
  new TerminalSession({ ...t, raw: true }).enter();
  t.hub.emit("exit");
  assert.deepEqual(t.modes, [true, false]);
});

test("a terminal that was raw before stays raw after; not a TTY: nothing is touched", () => {
  const t = fakeTty();
  t.input.isRaw = true;
  new TerminalSession({ ...t, raw: true }).enter().restore();
  assert.deepEqual(t.modes, [true, true]);
  const pipe = fakeTty(false);
  new TerminalSession({ ...pipe, raw: true, altScreen: true }).enter().restore();
  assert.deepEqual([pipe.modes, pipe.written], [[], []]);
});

test("trapExitSignals: each signal calls back with its name until released", () => {
  const hub = new EventEmitter();
  const got: string[] = [];
  const release = trapExitSignals((s) => got.push(s), hub);
  for (const s of ["SIGINT", "SIGTERM", "SIGHUP", "SIGINT"]) hub.emit(s);
  assert.deepEqual(got, ["SIGINT", "SIGTERM", "SIGHUP", "SIGINT"], "a second Ctrl-C is caught too");
  release();
  for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) assert.equal(hub.listenerCount(s), 0);
});

test("paint styles text only when colours are on", () => {
  assert.equal(paint(false).red("x"), "x");
  assert.equal(paint(true).red("x"), "\x1b[31mx\x1b[0m");
});

test("a full screen: raw alternate screen, input and resize while open, all let go of by restore", () => {
  const t = fakeTty();
  const input = Object.assign(new EventEmitter(), t.input, { flowing: false });
  Object.assign(input, { resume: () => (input.flowing = true), pause: () => (input.flowing = false) });
  const output = Object.assign(new EventEmitter(), t.output, { columns: 100, rows: 30 });
  const screen = openFullScreen(
    input as unknown as Parameters<typeof openFullScreen>[0],
    output as unknown as Parameters<typeof openFullScreen>[1],
    t.hub,
  );
  assert.deepEqual(t.modes, [true]);
  assert.ok(t.written[0]!.startsWith(ALT_SCREEN_ON));
  assert.ok(input.flowing);
  assert.deepEqual(screen.size(), { width: 100, height: 30 });
  const typed: string[] = [];
  let resized = 0;
  screen.onInput((text) => typed.push(text));
  screen.onResize(() => resized++);
  input.emit("data", Buffer.from("Pq"));
  output.emit("resize");
  assert.deepEqual(typed, ["Pq"]);
  assert.equal(resized, 1);
  screen.draw(["a", "b"]);
  assert.equal(t.written.at(-1), "\x1b[Ha\x1b[K\r\nb\x1b[K\x1b[J");
  screen.restore();
  screen.restore();
  assert.deepEqual(t.modes, [true, false], "cooked again, once");
  assert.equal(t.written.filter((w) => w.includes(ALT_SCREEN_OFF)).length, 1);
  assert.equal(input.listenerCount("data") + output.listenerCount("resize") + t.hub.listenerCount("exit"), 0);
  assert.ok(!input.flowing);
  const drawn = t.written.length;
  screen.draw(["late"]);
  assert.equal(t.written.length, drawn, "no frame after restore");
});

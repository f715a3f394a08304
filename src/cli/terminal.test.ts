import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import {
  ALT_SCREEN_OFF,
  ALT_SCREEN_ON,
  paint,
  TerminalSession,
  trapExitSignals,
  useColour,
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

test("colours only on a TTY without NO_COLOR", () => {
  assert.equal(useColour({ isTTY: true }, {}), true);
  assert.equal(useColour({ isTTY: true }, { NO_COLOR: "1" }), false);
  assert.equal(useColour({ isTTY: false }, {}), false);
  assert.equal(paint(false).red("x"), "x");
  assert.equal(paint(true).red("x"), "\x1b[31mx\x1b[0m");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { handleKey, initialState, splitKeys, type TopState } from "./keys.ts";

const start = initialState("cpu", { name: null, state: null });
const press = (keys: string[], s: TopState = start) => keys.reduce(handleKey, s);

test("P M T N sort by CPU, memory, time, name", () => {
  assert.equal(press(["M"]).sortKey, "mem");
  assert.equal(press(["T"]).sortKey, "time");
  assert.equal(press(["N"]).sortKey, "name");
  assert.equal(press(["N", "P"]).sortKey, "cpu");
});

test("F then a column's letter sorts by it; any other key leaves the sort as it was", () => {
  const picking = press(["F"]);
  assert.equal(picking.mode, "pick-sort");
  // VM view columns: a NAME, b STATE, c %CPU, d %GCPU, e %STEAL, f MEMUSED, ...
  assert.equal(press(["F", "e"]).sortKey, "steal");
  assert.equal(press(["F", "e"]).mode, "normal");
  const kept = press(["F", "!"]);
  assert.deepEqual([kept.sortKey, kept.mode], ["cpu", "normal"]);
  assert.equal(press(["3", "F", "d"]).sortKey, "rx", "letters follow the current view's columns");
});

test("1 2 3 switch to the per-vCPU, per-disk, per-NIC views; the same key or 0 goes back", () => {
  assert.equal(press(["1"]).view, "vcpus");
  assert.equal(press(["2"]).view, "disks");
  assert.equal(press(["3"]).view, "nics");
  assert.equal(press(["2", "2"]).view, "vms");
  assert.equal(press(["1", "0"]).view, "vms");
  assert.equal(press(["1", "3"]).view, "nics");
});

test("/ types a name filter: Enter applies, backspace edits, Esc cancels, empty clears", () => {
  const typed = press(["/", "l", "a", "x", "\x7f", "b", "\r"]);
  assert.deepEqual([typed.mode, typed.filter.name], ["normal", "lab"]);
  assert.equal(press(["/", "q"]).quit, false, "q while typing is a letter");
  assert.equal(press(["/", "w", "\x1b"]).filter.name, null, "Esc: unchanged");
  const cleared = press(["/", "\x7f", "\x7f", "\x7f", "\r"], typed);
  assert.equal(cleared.filter.name, null);
  assert.equal(press(["/"], typed).input, "lab", "editing starts from the current filter");
});

test("s cycles the state filter and back to all", () => {
  const seen = [];
  let s = start;
  for (let i = 0; i < 6; i++) {
    s = handleKey(s, "s");
    seen.push(s.filter.state);
  }
  assert.deepEqual(seen, ["active", "running", "paused", "shutoff", "inactive", null]);
});

test("q and Ctrl-C quit (Ctrl-C in any mode); h shows help until any key", () => {
  assert.equal(press(["q"]).quit, true);
  assert.equal(press(["/", "\x03"]).quit, true);
  assert.equal(press(["h"]).mode, "help");
  const back = press(["h", "q"]);
  assert.deepEqual([back.mode, back.quit], ["normal", false], "the key that closes help does nothing else");
});

test("a chunk from the terminal splits into keys, escape sequences whole", () => {
  assert.deepEqual(splitKeys("Pq"), ["P", "q"]);
  assert.deepEqual(splitKeys("\x1b[A1\x1bOB\x1b"), ["\x1b[A", "1", "\x1bOB", "\x1b"]);
});

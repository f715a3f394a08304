import assert from "node:assert/strict";
import { test } from "node:test";
import { composeFrame } from "./frame.ts";
import { handleKey, HELP_LINES, initialState } from "./keys.ts";
import { goldenView } from "./testing.ts";

const snap = goldenView();
const o = { width: 200, height: 50, color: false, delaySeconds: 3 };
const all = { name: null, state: null };

test("the first lines say where the numbers come from, what is shown and how", () => {
  const lines = composeFrame(snap, initialState("cpu", all), o);
  assert.match(lines[0]!, /^kvmon top \d\d:\d\d:\d\d {2}source: agent http:\/\/127\.0\.0\.1:9477$/);
  assert.match(lines[1]!, /VMs: 4, 3 active {2}view: VMs {2}sort: %CPU {2}every 3s$/);
  // The host's CPU and memory usage (the golden host: 99.9 % busy, 1.68 GiB used of 23.5 GiB).
  assert.match(lines[1]!, /^host hv1: 2 CPUs 99\.9% busy, 1\.7G used of 24G memory {2}VMs/);
  const noUsage = composeFrame(
    { ...snap, host: { ...snap.host!, usage: null } },
    initialState("cpu", all),
    o,
  );
  assert.match(noUsage[1]!, /^host hv1: 2 CPUs, 24G memory {2}VMs/);
  assert.match(lines[3]!, /^NAME /);
  assert.match(lines[4]!, /^kvmon-fixture-tcg /);
  const local = composeFrame(
    { ...snap, source: "local", origin: "qemu:///system" },
    initialState("cpu", all),
    o,
  );
  assert.match(
    local[0]!,
    /source: in-process collection from qemu:\/\/\/system \(no agent; host view only\)$/,
  );
});

test("filters, a failed refresh and the prompt being typed show above the table", () => {
  const s = initialState("name", { name: "lab", state: "active" });
  const lines = composeFrame(snap, s, { ...o, error: "agent went away" });
  assert.match(lines[1]!, /filter: name ~ 'lab', state active/);
  assert.equal(lines[2], "refresh failed: agent went away");
  assert.deepEqual(lines.slice(4), [lines[4]!], "one VM left");
  const typing = ["/", "w", "e"].reduce(handleKey, initialState("cpu", all));
  assert.match(composeFrame(snap, typing, o)[2]!, /filter by name .*: we$/);
  const none = composeFrame(snap, initialState("cpu", { name: "nothing-like-this", state: null }), o);
  assert.equal(none.at(-1), "(no VM matches the filter)");
});

test("the frame fits the terminal: lines cut to its width, rows to its height; help replaces the table", () => {
  const small = composeFrame(snap, initialState("cpu", all), { ...o, width: 30, height: 6 });
  assert.equal(small.length, 6);
  assert.ok(small.every((l) => l.length <= 30));
  assert.deepEqual(composeFrame(snap, handleKey(initialState("cpu", all), "h"), o), HELP_LINES);
});

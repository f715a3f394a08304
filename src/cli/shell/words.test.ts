import assert from "node:assert/strict";
import { test } from "node:test";
import { complete, splitWords } from "./words.ts";

test("words: whitespace separates, quotes group, backslash escapes", () => {
  assert.deepEqual(splitWords("  top  -o mem "), ["top", "-o", "mem"]);
  assert.deepEqual(splitWords(`top --filter 'web *' -o "m e"`), ["top", "--filter", "web *", "-o", "m e"]);
  assert.deepEqual(splitWords(`a\\ b ''`), ["a b", ""]);
  assert.deepEqual(splitWords(""), []);
});

test("Tab: the first word completes to a command, after 'enter' to a VM name", () => {
  const cmds = ["enter", "exit", "list", "top"];
  const vms = ["kvmon-lab-1", "kvmon-lab-2", "web"];
  assert.deepEqual(complete("ent", cmds, vms), [["enter "], "ent"]);
  assert.deepEqual(complete("e", cmds, vms), [["enter ", "exit "], "e"]);
  assert.deepEqual(complete("", cmds, vms)[0].length, 4);
  assert.deepEqual(complete("enter kv", cmds, vms), [["kvmon-lab-1", "kvmon-lab-2"], "kv"]);
  assert.deepEqual(complete("enter w", cmds, vms), [["web"], "w"]);
  assert.deepEqual(complete("top -o ", cmds, vms), [[], "top -o "]);
});

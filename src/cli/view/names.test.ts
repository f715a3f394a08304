import assert from "node:assert/strict";
import { test } from "node:test";
import { goldenView } from "../top/testing.ts";
import { editDistance, findDomain, nearMatches, UnknownVmError } from "./names.ts";

const lab = ["kvmon-lab-1", "kvmon-lab-2", "kvmon-lab-kvm", "web-01", "db"];

test("edit distance counts inserts, deletes and substitutions", () => {
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("same", "same"), 0);
});

test("near matches: names containing the typed text first, then small typos, at most three", () => {
  assert.deepEqual(nearMatches("lab1", lab), ["kvmon-lab-1"]);
  assert.deepEqual(nearMatches("kvmon-lab-3", lab), ["kvmon-lab-1", "kvmon-lab-2"]);
  assert.deepEqual(nearMatches("web01", lab), ["web-01"]);
  assert.deepEqual(nearMatches("wbe-01", lab), ["web-01"], "a swap is two edits");
  assert.deepEqual(nearMatches("zzzzzz", lab), []);
  assert.equal(nearMatches("lab", lab).length, 3);
});

test("an unknown VM is an error with the near matches as its hint; name or UUID finds it", () => {
  const { domains } = goldenView();
  assert.equal(findDomain(domains, "kvmon-lab-1").name, "kvmon-lab-1");
  assert.equal(findDomain(domains, domains[0]!.uuid.toUpperCase()).name, domains[0]!.name);
  assert.throws(
    () => findDomain(domains, "kvmon-fixture-tgc"),
    (e: unknown) =>
      e instanceof UnknownVmError &&
      e.code === "VM_NOT_FOUND" &&
      e.hint === "did you mean: kvmon-fixture-tcg?" &&
      e.message === "no VM named 'kvmon-fixture-tgc'",
  );
  assert.throws(() => findDomain(domains, "qqq"), /no VM named 'qqq'/);
  try {
    findDomain(domains, "qqq");
  } catch (e) {
    assert.match((e as UnknownVmError).hint!, /^known VMs: kvmon-fixture-nova, /);
  }
});

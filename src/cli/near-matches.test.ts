import assert from "node:assert/strict";
import { test } from "node:test";
import { goldenView } from "./top/testing.ts";
import { editDistance, findNamedVm, nearMatches, UnknownVmError } from "./near-matches.ts";

test("edit distance counts inserts, deletes and substitutions", () => {
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("same", "same"), 0);
});

test("near matches: typos, parts of a name, closest first; unrelated names are left out", () => {
  const known = ["kvmon-lab-1", "kvmon-lab-2", "kvmon-lab-kvm", "web-frontend", "db"];
  assert.deepEqual(
    nearMatches("kvmon-lab1", known),
    ["kvmon-lab-1", "kvmon-lab-2"],
    "not the farther lab-kvm",
  );
  assert.deepEqual(nearMatches("frontend", known), ["web-frontend"]);
  assert.deepEqual(nearMatches("KVMON-LAB-KVM", known)[0], "kvmon-lab-kvm");
  assert.deepEqual(nearMatches("postgres-main", known), []);
});

test("near matches: names containing the typed text first, then small typos, at most three", () => {
  const lab = ["kvmon-lab-1", "kvmon-lab-2", "kvmon-lab-kvm", "web-01", "db"];
  assert.deepEqual(nearMatches("lab1", lab), ["kvmon-lab-1"]);
  assert.deepEqual(nearMatches("kvmon-lab-3", lab), ["kvmon-lab-1", "kvmon-lab-2"]);
  assert.deepEqual(nearMatches("web01", lab), ["web-01"]);
  assert.deepEqual(nearMatches("wbe-01", lab), ["web-01"], "a swap is two edits");
  assert.deepEqual(nearMatches("zzzzzz", lab), []);
  assert.equal(nearMatches("lab", lab).length, 3);
});

test("an unknown VM is an error with the near matches as its hint; name or UUID finds it", () => {
  const { domains } = goldenView();
  assert.equal(findNamedVm(domains, "kvmon-lab-1").name, "kvmon-lab-1");
  assert.equal(findNamedVm(domains, domains[0]!.uuid.toUpperCase()).name, domains[0]!.name);
  assert.throws(
    () => findNamedVm(domains, "kvmon-fixture-tgc"),
    (e: unknown) =>
      e instanceof UnknownVmError &&
      e.code === "LIBVIRT_NO_DOMAIN" &&
      e.hint === "did you mean: kvmon-fixture-tcg?" &&
      e.message === "no VM named 'kvmon-fixture-tgc'",
  );
  assert.throws(() => findNamedVm(domains, "qqq"), /no VM named 'qqq'/);
  try {
    findNamedVm(domains, "qqq");
  } catch (e) {
    assert.match((e as UnknownVmError).hint!, /^known VMs: kvmon-fixture-nova, /);
  }
});

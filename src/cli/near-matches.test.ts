import assert from "node:assert/strict";
import { test } from "node:test";
import { editDistance, nearMatches } from "./near-matches.ts";

test("edit distance counts inserts, deletes and substitutions", () => {
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("same", "same"), 0);
});

test("near matches: typos, parts of a name, closest first; unrelated names are left out", () => {
  const known = ["kvmon-lab-1", "kvmon-lab-2", "kvmon-lab-kvm", "web-frontend", "db"];
  assert.deepEqual(nearMatches("kvmon-lab1", known), ["kvmon-lab-1", "kvmon-lab-2", "kvmon-lab-kvm"]);
  assert.deepEqual(nearMatches("frontend", known), ["web-frontend"]);
  assert.deepEqual(nearMatches("KVMON-LAB-KVM", known)[0], "kvmon-lab-kvm");
  assert.deepEqual(nearMatches("postgres-main", known), []);
});

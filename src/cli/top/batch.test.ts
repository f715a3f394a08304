import assert from "node:assert/strict";
import { test } from "node:test";
import { CSV_HEADER, csvField, csvRows, snapshotJson } from "./batch.ts";
import { vmRow } from "./rows.ts";
import { goldenDomain, goldenView } from "./testing.ts";

const snap = goldenView();
const all = { name: null, state: null };

test("JSON: the source, the table's rows with units in the field names, and the per-device rows", () => {
  const j = snapshotJson(snap, all, "cpu");
  assert.equal(j.source, "agent");
  assert.equal(j.origin, "http://127.0.0.1:9477");
  assert.equal(j.collectedAt, new Date(snap.collectedAt).toISOString());
  assert.deepEqual(
    j.vms.map((v) => v.name),
    ["kvmon-fixture-tcg", "kvmon-fixture-nova", "kvmon-lab-1", "kvmon-fixture-off"],
  );
  assert.deepEqual(j.vms[0], vmRow(goldenDomain("kvmon-fixture-tcg")), "the same numbers as the table");
  for (const key of Object.keys(j.vms[0]!)) {
    assert.match(
      key,
      /^(name|state|vcpus|memorySource|.*(Percent|Bytes|PerSecond|Seconds))$/,
      `${key} names its unit`,
    );
  }
  assert.equal(j.vcpus.length, 6);
  assert.ok(j.disks.some((d) => d.name === "kvmon-fixture-tcg" && d.disk === "vda"));
  assert.deepEqual(JSON.parse(JSON.stringify(j)), j, "plain JSON");
  assert.deepEqual(
    snapshotJson(snap, { name: "lab", state: null }, "cpu").vms.map((v) => v.name),
    ["kvmon-lab-1"],
  );
});

test("CSV: one row per VM with the header's fields, unknown values empty", () => {
  const header = CSV_HEADER.trim().split(",");
  const lines = csvRows(snap, all, "name").trim().split("\n");
  assert.equal(lines.length, 4);
  for (const l of lines) assert.equal(l.split(",").length, header.length);
  const off = lines[1]!.split(",");
  assert.equal(off[header.indexOf("name")], "kvmon-fixture-off");
  assert.equal(off[header.indexOf("cpuPercent")], "");
  const tcg = lines[2]!.split(",");
  assert.equal(tcg[header.indexOf("source")], "agent");
  assert.equal(tcg[header.indexOf("memoryTotalBytes")], "215543808");
  assert.equal(tcg[header.indexOf("cpuPercent")], "63.639");
  assert.equal(tcg[header.indexOf("time")], new Date(snap.collectedAt).toISOString());
});

test("CSV fields with commas, quotes or line breaks are quoted", () => {
  assert.equal(csvField("plain"), "plain");
  assert.equal(csvField('a,"b"'), '"a,""b"""');
  assert.equal(csvField("two\nlines"), '"two\nlines"');
  assert.equal(csvField(null), "");
  assert.equal(csvField(1 / 3), "0.333");
});

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import test from "node:test";
import { collectors } from "../../collectors/registry.ts";
import { parseSnapshot } from "../../model/schema.ts";
import { decodeWrite, encodeWrite, validateSeries } from "../../protocol/remote-write/index.ts";
import { renderSnapshot } from "../exposition.ts";
import { labelKey as key, parseExposition } from "../testing/exposition-lines.ts";
import { identityLabels, snapshotSeries } from "./series.ts";

// The golden snapshot of src/agent/exposition.test.ts: four real fixture domains (nova metadata, quotes in values).
const snap = parseSnapshot(
  JSON.parse(readFileSync(new URL("../../model/testdata/snapshot.golden.json", import.meta.url), "utf8")),
);

test("the pushed series are exactly the /metrics lines, with host and instance, at the snapshot's time", () => {
  const identity = identityLabels(snap, 9477);
  assert.deepEqual(identity, { host: snap.agent.hostname, instance: `${snap.agent.hostname}:9477` });
  const series = snapshotSeries(snap, collectors, identity);
  validateSeries(series);
  const lines = parseExposition(renderSnapshot(snap, collectors));
  assert.ok(lines.length > 100, `${lines.length}`);
  const pushed = new Map(
    decodeWrite(encodeWrite(series), 1 << 24).map((s) => {
      assert.equal(s.samples.length, 1);
      assert.equal(s.samples[0]!.timestamp, snap.finishedAt);
      return [key(Object.fromEntries(s.labels.map((l) => [l.name, l.value]))), s.samples[0]!.value];
    }),
  );
  assert.equal(pushed.size, lines.length);
  for (const l of lines) {
    const v = pushed.get(key({ ...l.labels, ...identity }));
    assert.ok(v !== undefined, `not pushed: ${JSON.stringify(l.labels)}`);
    assert.ok(Object.is(v, l.value) || v === l.value, `${JSON.stringify(l.labels)}: ${v} != ${l.value}`);
  }
});

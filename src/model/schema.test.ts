import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { SchemaError } from "./errors.ts";
import { domainSampleSchema, parseSnapshot, parseWith } from "./schema.ts";

/** A real snapshot: the agent's golden fixtures (4 domains: TCG, KVM with nova, shut off, lab), as JSON. */
const golden = (): unknown =>
  JSON.parse(readFileSync(new URL("./testdata/snapshot.golden.json", import.meta.url), "utf8"));

const DELETE = Symbol("delete");
type Edit = [path: (string | number)[], value: unknown];

/** The golden snapshot with each edit applied (a value set at a path, or the key deleted). */
function edited(...edits: Edit[]): unknown {
  const doc = golden();
  for (const [path, value] of edits) {
    let at = doc as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
    const last = path.at(-1)!;
    if (value === DELETE) delete at[last];
    else at[last] = value;
  }
  return doc;
}

function rejects(edits: Edit[], ...expected: RegExp[]): void {
  assert.throws(
    () => parseSnapshot(edited(...edits)),
    (e) => {
      assert.ok(e instanceof SchemaError, String(e));
      assert.equal(e.code, "SCHEMA_INVALID");
      for (const re of expected) assert.match(e.message, re);
      return true;
    },
  );
}

test("a real snapshot (golden fixtures) is accepted as it is", () => {
  const s = golden();
  assert.equal(parseSnapshot(s).domains.length, 4);
  assert.deepEqual(parseSnapshot(s), s);
});

test("malformed snapshots are rejected with the path of each bad field", () => {
  rejects(
    [[["domains", 0, "cpu", "timeSeconds", "total"], "11.5"]],
    /domains\[0\]\.cpu\.timeSeconds\.total: /,
  );
  rejects([[["domains", 1, "guest"], DELETE]], /domains\[1\]\.guest: /);
  rejects([[["host", "domainsByState", "running"], "2"]], /host\.domainsByState\.running: /);
  rejects([[["host", "domainsByState", "paused"], DELETE]], /host\.domainsByState\.paused: /);
  rejects([[["schemaVersion"], 2]], /schemaVersion: /);
  rejects([[["domains", 0, "stats", "status"], "fine"]], /domains\[0\]\.stats\.status: /);
  rejects(
    [
      [["agent", "hostUuid"], 7],
      [["domains", 2, "block"], [{ name: "vda" }]],
    ],
    /agent\.hostUuid: /,
    /domains\[2\]\.block\[0\]\.path: /,
  );
  assert.throws(() => parseSnapshot(null), /snapshot does not match the model: \(root\): /);
});

test("a part of the model (one domain, as the JSON API serves it) is checked on its own", () => {
  const d = (golden() as { domains: Record<string, unknown>[] }).domains[0]!;
  assert.deepEqual(parseWith(domainSampleSchema, d, "domain"), d);
  assert.throws(
    () => parseWith(domainSampleSchema, { ...d, id: null }, "GET /api/v1/domains/x"),
    /^SchemaError: GET \/api\/v1\/domains\/x does not match the model: id: /,
  );
});

test("a snapshot from an agent without the host-usage collector (no host.usage) parses with usage null", () => {
  const s = parseSnapshot(edited([["host", "usage"], DELETE]));
  assert.equal(s.host.usage, null);
  rejects([[["host", "usage", "cpuRatio"], "0.5"]], /host\.usage\.cpuRatio: /);
});

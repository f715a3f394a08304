import assert from "node:assert/strict";
import { test } from "node:test";
import { type Materialize, RecentRing } from "./recent-ring.ts";

/** A "record" is one byte, its value; decoding counts its calls. */
function decoder() {
  let calls = 0;
  const decode: Materialize = (view, length) => {
    calls++;
    assert.equal(length, 1);
    return { event: "e", reason: String(view.getUint8(0)), details: {} };
  };
  return { decode, calls: () => calls };
}

test("noted records are copied at keep(), survive the buffer's reuse, and are decoded once, when read", () => {
  const ring = new RecentRing(3);
  const d = decoder();
  const buffer = Uint8Array.of(10, 11, 12, 13, 14);
  for (let i = 0; i < 5; i++) ring.note(100 + i, 0, i, 1);
  ring.keep(buffer, d.decode);
  buffer.fill(0);
  assert.equal(d.calls(), 0, "nothing decoded before a read");
  const want = [
    { time: 102, vcpu: 0, event: "e", reason: "12", details: {} },
    { time: 103, vcpu: 0, event: "e", reason: "13", details: {} },
    { time: 104, vcpu: 0, event: "e", reason: "14", details: {} },
  ];
  assert.deepEqual(ring.recent(10), want);
  assert.deepEqual(ring.recent(10), want);
  assert.equal(d.calls(), 3, "each kept record decoded once");
  assert.deepEqual(
    ring.recent(10, 102).map((e) => e.time),
    [103, 104],
  );
});

test("pushed events and noted records share one ring in arrival order; keep() leaves pushed ones alone", () => {
  const ring = new RecentRing(4);
  const d = decoder();
  ring.push({ time: 1, vcpu: 1, event: "p", reason: "pushed", details: {} });
  ring.note(2, 0, 0, 1);
  ring.keep(Uint8Array.of(7), d.decode);
  ring.note(3, 0, 0, 1);
  ring.keep(Uint8Array.of(8), d.decode);
  assert.deepEqual(
    ring.recent(10).map((e) => e.reason),
    ["pushed", "7", "8"],
  );
  assert.deepEqual(new RecentRing(0).recent(5), []);
});

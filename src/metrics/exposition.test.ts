import assert from "node:assert/strict";
import { test } from "node:test";
import { KvmonError } from "../shared/errors.ts";
import { counter, emitPresent, gauge } from "./catalog.ts";
import { escapeLabel, FamilyWriter, formatValue } from "./exposition.ts";

test("gauge() and counter() declare a family: type, labels (none by default) and source", () => {
  assert.deepEqual(gauge("x_bytes", "h", { source: "s" }), {
    name: "x_bytes",
    type: "gauge",
    help: "h",
    labels: [],
    source: "s",
  });
  const c = counter("x_total", "h", { labels: ["device"], source: "s" });
  assert.equal(c.type, "counter");
  assert.deepEqual(c.labels, ["device"]);
});

test("text format details: label escaping, special values, HELP/TYPE once per family", () => {
  assert.equal(escapeLabel('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(formatValue(Number.NaN), "NaN");
  assert.equal(formatValue(Number.POSITIVE_INFINITY), "+Inf");
  assert.equal(formatValue(0.5), "0.5");
  const w = new FamilyWriter();
  const spec = counter("x_total", "h", { labels: ["k"], source: "" });
  const emit = w.emitter(["domain"], ["d"]);
  emit(spec, 1, ["a"]);
  emit(spec, 2, ["b"]);
  assert.equal(
    w.render(),
    '# HELP x_total h\n# TYPE x_total counter\nx_total{domain="d",k="a"} 1\nx_total{domain="d",k="b"} 2\n',
  );
  assert.throws(
    () => emit(spec, 1, []),
    (e) => e instanceof KvmonError && e.code === "METRIC_LABELS_MISMATCH" && /label values/.test(e.message),
  );
});

test("declared families keep their order and are written only when they have samples", () => {
  const w = new FamilyWriter();
  const a = gauge("a", "A", { source: "" });
  const b = gauge("b", "B", { source: "" });
  const unused = gauge("c", "C", { source: "" });
  for (const s of [a, b, unused]) w.declare(s);
  const emit = w.emitter([], []);
  emit(b, 2);
  emit(a, 1);
  assert.equal(w.render(), "# HELP a A\n# TYPE a gauge\na 1\n# HELP b B\n# TYPE b gauge\nb 2\n");
});

test("emitPresent: a gauge's value, a counter's total, nothing for null or undefined", () => {
  const got: string[] = [];
  const opt = emitPresent((spec, v) => got.push(`${spec.name}=${v}`));
  const g = gauge("g", "", { source: "" });
  opt(g, 3);
  opt(g, { total: 7 });
  opt(g, null);
  opt(g, undefined);
  assert.deepEqual(got, ["g=3", "g=7"]);
});

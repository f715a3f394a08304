import assert from "node:assert/strict";
import { test } from "node:test";
import type { Expr } from "./ast.ts";
import { parseDurationOrSeconds, parsePromDuration } from "./duration.ts";
import { PromqlParseError } from "./errors.ts";
import { parseQuery, parseSelector } from "./parse.ts";

/** The AST without spans, for comparing shapes. */
const shape = (e: Expr): unknown =>
  JSON.parse(JSON.stringify(e, (k, v: unknown) => (k === "span" ? undefined : v)));

test("numbers: decimal, exponent, hex, Inf, NaN, durations as seconds, underscores", () => {
  const n = (q: string): unknown => (shape(parseQuery(q)) as { value: unknown }).value;
  assert.equal(n("1.5e3"), 1500);
  assert.equal(n("0x1F"), 31);
  assert.equal(n("Inf"), null, "JSON writes Infinity as null");
  assert.equal((parseQuery("-Inf") as { value: number }).value, -Infinity);
  assert.ok(Number.isNaN((parseQuery("NaN") as { value: number }).value));
  assert.equal(n("1h30m"), 5400);
  assert.equal(n("1_000"), 1000);
});

test("strings: Go escapes in double and single quotes, raw backquotes; quoted metric and label names", () => {
  assert.deepEqual(parseSelector(`x{a="\\t\\x41\\u00e9\\101", b='it\\'s', c=\`raw\\n\`}`), [
    { name: "__name__", op: "=", value: "x" },
    { name: "a", op: "=", value: "\tAéA" },
    { name: "b", op: "=", value: "it's" },
    { name: "c", op: "=", value: "raw\\n" },
  ]);
  assert.deepEqual(parseSelector('{"kvmon.metric", "odd label"!="v"}'), [
    { name: "__name__", op: "=", value: "kvmon.metric" },
    { name: "odd label", op: "!=", value: "v" },
  ]);
  assert.throws(() => parseQuery('x{a="\\q"}'), /unknown escape sequence/);
});

test("modifiers: offset on selectors and ranges, by/without, on/ignoring with group_left labels, bool", () => {
  assert.deepEqual(shape(parseQuery("rate(x[1h30m] offset -5m)")), {
    kind: "call",
    func: "rate",
    args: [
      {
        kind: "matrixSelector",
        rangeMs: 5_400_000,
        selector: {
          kind: "vectorSelector",
          matchers: [{ name: "__name__", op: "=", value: "x" }],
          offsetMs: -300_000,
        },
      },
    ],
  });
  const b = parseQuery("a > bool ignoring(x, y) group_left(z) b");
  assert.equal(b.kind, "binary");
  assert.deepEqual(b.kind === "binary" && [b.returnBool, b.matching], [
    true,
    { on: false, labels: ["x", "y"], card: "many-to-one", include: ["z"] },
  ]);
  const agg = parseQuery("sum without (a) (x)");
  assert.deepEqual(agg.kind === "aggregate" && agg.grouping, { without: true, labels: ["a"] });
  const set = parseQuery("a and b");
  assert.deepEqual(set.kind === "binary" && set.matching.card, "many-to-many");
});

test("errors name the position and the problem; constructs outside the subset are refused", () => {
  const cases: [string, RegExp][] = [
    ["", /no expression found/],
    ["x offset 1m offset 2m", /parse error/],
    ["sum(x) offset 1m", /offset modifier must be preceded by/],
    ["sum(foo) @ 100", /@ modifier must be preceded by an instant vector selector/],
    ["foo @ 100 @ 200", /parse error/],
    ["(1 + 1)[5m:1m]", /subquery is only allowed on instant vector, got scalar/],
    ["x[5m:1m] offset 1m offset 2m", /parse error/],
    ["a and on(x) group_left b", /no grouping allowed for "and" operation/],
    ["a + bool b", /bool modifier can only be used on comparison operators/],
    ["1 + on(a) 2", /vector matching only allowed between instant vectors/],
    ["sum(x[5m])", /expected type instant vector in aggregation expression, got range vector/],
    ["topk(x, y)", /expected type scalar in aggregation parameter/],
    ["count_values(1, y)", /expected type string in aggregation parameter, got scalar/],
    ["label_join(x)", /expected at least 3 argument\(s\) in call to "label_join", got 1/],
    ["limitk(1, x)", /aggregation "limitk" is not supported/],
    ["round(x, 1, 2)", /expected 1 to 2 argument\(s\) in call to "round", got 3/],
    ["x[0s]", /range must be greater than 0/],
    ['"text" + 1', /binary expression must contain only scalar and instant vector types/],
    ["x\n  + )", /^2:5: parse error/],
  ];
  for (const [q, message] of cases) {
    assert.throws(
      () => parseQuery(q),
      (e) => e instanceof PromqlParseError && message.test(e.message),
      q,
    );
  }
});

test("durations: Prometheus units combined, and plain seconds for API parameters", () => {
  assert.equal(parsePromDuration("1w2d"), (7 + 2) * 86_400_000);
  assert.equal(parsePromDuration("1m30s500ms"), 90_500);
  assert.equal(parsePromDuration("5"), undefined);
  assert.equal(parsePromDuration("1.5m"), undefined);
  assert.equal(parseDurationOrSeconds("15"), 15_000);
  assert.equal(parseDurationOrSeconds("0.25"), 250);
  assert.equal(parseDurationOrSeconds("1y"), 365 * 86_400_000);
  assert.equal(parseDurationOrSeconds("soon"), undefined);
});

test("offset, @, [range] and [range:step] bind to the nearest operand, as in Prometheus (not as Lezer groups them)", () => {
  const b = parseQuery("a - b offset 5m @ 10");
  assert.ok(b.kind === "binary" && b.lhs.kind === "vectorSelector" && b.rhs.kind === "vectorSelector");
  assert.deepEqual(
    b.kind === "binary" && [b.lhs.offsetMs, b.rhs.offsetMs, b.rhs.kind === "vectorSelector" && b.rhs.at],
    [0, 300_000, { ms: 10_000 }],
  );
  const u = parseQuery("-a offset 1m");
  assert.ok(u.kind === "unary" && u.expr.kind === "vectorSelector" && u.expr.offsetMs === 60_000);
  assert.throws(() => parseQuery("(a - b) offset 5m"), /offset modifier must be preceded by/);
  assert.throws(() => parseQuery("a - (b + c) offset 5m"), /offset modifier must be preceded by/);
  assert.throws(
    () => parseQuery("a * b[5m]"),
    /binary expression must contain only scalar and instant vector types/,
  );
});

/** bench/lib: the statistics, option parsing and test-driver XML every benchmark relies on (no lab needed). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { benchArgs, BenchUsageError, numberList, usage } from "../bench/lib/cli.ts";
import {
  bootstrapRatio,
  byRound,
  median,
  pct,
  ratio,
  rotated,
  roundRatios,
  slope,
} from "../bench/lib/stats.ts";
import { domainXml, nodeXml } from "../bench/lib/test-driver.ts";

test("pct is nearest-rank, median its 50th; ratio of a zero reference is a dash", () => {
  const xs = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
  assert.equal(pct(xs, 0), 1);
  assert.equal(pct(xs, 10), 1);
  assert.equal(pct(xs, 11), 2);
  assert.equal(pct(xs, 95), 10);
  assert.equal(median(xs), 5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(ratio(3, 2), "1.50x");
  assert.equal(ratio(1, 0), "—");
});

test("per-round ratios and a seeded bootstrap interval that brackets the true ratio", () => {
  const rounds = Array.from({ length: 200 }, (_, i) => Math.floor(i / 5));
  const b = rounds.map((r, i) => 10 + (r % 3) + (i % 5) * 0.1);
  const a = b.map((x) => 2 * x);
  const ra = byRound(a, rounds);
  const rb = byRound(b, rounds);
  assert.deepEqual(new Set(roundRatios(ra, rb)), new Set([2]));
  const [lo, hi] = bootstrapRatio(ra, rb, 200);
  assert.ok(lo <= 2 && hi >= 2, `${lo} .. ${hi}`);
  assert.deepEqual(bootstrapRatio(ra, rb, 200), [lo, hi], "not reproducible");
});

test("slope fits a line; rotated leads with each element in turn", () => {
  assert.equal(slope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
  assert.ok(Number.isNaN(slope([1], [1])));
  assert.deepEqual(rotated([1, 2, 3], 1), [2, 3, 1]);
  assert.deepEqual(rotated([1, 2, 3], 3), [1, 2, 3]);
});

test("benchArgs: typed defaults, given values, repeated lists, bad numbers refused", () => {
  const spec = {
    numbers: { rounds: 20, interval: 10 },
    strings: { uri: "qemu:///system" },
    flags: { quick: false },
    lists: { kvmon: ["a=b"] },
  };
  assert.deepEqual(benchArgs("x", spec, []), {
    rounds: 20,
    interval: 10,
    uri: "qemu:///system",
    quick: false,
    kvmon: ["a=b"],
  });
  assert.deepEqual(benchArgs("x", spec, ["--rounds", "3", "--quick", "--kvmon", "p=q", "--kvmon", "r=s"]), {
    rounds: 3,
    interval: 10,
    uri: "qemu:///system",
    quick: true,
    kvmon: ["p=q", "r=s"],
  });
  assert.throws(() => benchArgs("x", spec, ["--rounds", "many"]), BenchUsageError);
  assert.throws(() => benchArgs("x", spec, ["--nope"]), BenchUsageError);
  assert.match(usage("x", spec), /\[--rounds 20\] \[--interval 10\] \[--uri qemu:\/\/\/system\] \[--quick\]/);
  assert.deepEqual(numberList("100,,500"), [100, 500]);
  assert.deepEqual(numberList(""), []);
});

test("test-driver XML: alike domains have one disk and NIC; varied ones differ in counts and names", () => {
  const count = (s: string, tag: string) => s.split(`<${tag} `).length - 1;
  assert.equal(count(domainXml(7), "disk"), 1);
  assert.equal(count(domainXml(7), "interface"), 1);
  const shapes = new Set(
    Array.from(
      { length: 12 },
      (_, i) => `${count(domainXml(i, true), "disk")}/${count(domainXml(i, true), "interface")}`,
    ),
  );
  assert.ok(shapes.size >= 6, [...shapes].join(" "));
  assert.match(domainXml(1, true), /target dev='sdb' bus='scsi'/);
  const node = nodeXml(3);
  assert.equal(count(node, "domain"), 3);
  assert.match(node, /<name>bench-2<\/name>/);
});

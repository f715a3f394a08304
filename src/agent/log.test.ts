import assert from "node:assert/strict";
import { test } from "node:test";
import { Logger, ProblemLog } from "./log.ts";

function capture(level: "debug" | "info" = "info") {
  const lines: Record<string, unknown>[] = [];
  let now = Date.parse("2026-11-24T00:00:00Z");
  const clock = () => now;
  const logger = new Logger((l) => lines.push(JSON.parse(l)), level, clock);
  return { lines, logger, clock, advance: (ms: number) => (now += ms) };
}

test("log lines are one JSON object each, with ts, level, msg and fields", () => {
  const { lines, logger } = capture();
  logger.warn("disk slow", { domain: "vm1", ms: 12 });
  logger.debug("hidden below the level");
  assert.deepEqual(lines, [
    { ts: "2026-11-24T00:00:00.000Z", level: "warn", msg: "disk slow", domain: "vm1", ms: 12 },
  ]);
});

test("a repeated problem is logged once, its recovery once, with the repeat count", () => {
  const { lines, logger, clock, advance } = capture();
  const problems = new ProblemLog(logger, clock);
  for (let i = 0; i < 50; i++) {
    problems.problem("collector:cpu:vm1", "collector failed", new Error("boom"), { domain: "vm1" });
    advance(10_000);
  }
  problems.resolve("collector:cpu:vm1", "collector recovered", { domain: "vm1" });
  problems.resolve("collector:cpu:vm1", "collector recovered", { domain: "vm1" });
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.msg, "collector failed");
  assert.equal(lines[0]!.error, "boom");
  assert.equal(lines[1]!.msg, "collector recovered");
  assert.equal(lines[1]!.repeats, 49);
  assert.equal(lines[1]!.durationSeconds, 500);
});

test("problems are per key, and a changed message is logged again", () => {
  const { lines, logger } = capture();
  const problems = new ProblemLog(logger);
  problems.problem("a", "failed", new Error("x"));
  problems.problem("b", "failed", new Error("x"));
  problems.problem("a", "failed", new Error("x"));
  problems.problem("a", "failed", new Error("y"));
  assert.deepEqual(
    lines.map((l) => `${l.problem}:${l.error}`),
    ["a:x", "b:x", "a:y"],
  );
});

test("forget drops open problems of a vanished subject without logging", () => {
  const { lines, logger } = capture();
  const problems = new ProblemLog(logger);
  problems.problem("domain:u1:cpu", "failed", new Error("x"));
  problems.problem("domain:u2:cpu", "failed", new Error("x"));
  problems.forget("domain:u1:");
  assert.deepEqual(problems.openKeys(), ["domain:u2:cpu"]);
  problems.resolve("domain:u1:cpu", "recovered");
  assert.equal(lines.length, 2);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { StatsError } from "./errors.ts";
import { cpuCollector } from "./cpu.ts";
import { loadStats } from "./fixtures/load.ts";
import { memoryCollector } from "./memory.ts";
import { type CollectorFailure, runDomainCollectors } from "./run.ts";
import { domainJob } from "./sample.ts";
import { stateCollector } from "./state.ts";
import type { DomainCollector } from "./types.ts";

const ctx = (now: number) => ({
  previous: undefined,
  metadata: undefined,
  processStartedAt: undefined,
  node: null,
  now,
  stats: { status: "ok" as const, skippedTotal: 0, lastCompleteAt: now },
});

const exploding: DomainCollector = {
  ...cpuCollector,
  name: "exploding",
  collect() {
    throw new Error("boom");
  },
};

test("one throwing collector loses only its own section; the others fill theirs", () => {
  const jobs = ["tcg-2.stats", "lab-1-1.stats"].map((f) => domainJob(loadStats(f).record, ctx(1)));
  const failures: CollectorFailure[] = [];
  const runs = runDomainCollectors([stateCollector, exploding, memoryCollector], jobs, failures);
  assert.deepEqual(
    runs.map((r) => [r.name, r.success, r.failedDomains]),
    [
      ["state", true, 0],
      ["exploding", false, 2],
      ["memory", true, 0],
    ],
  );
  assert.equal(runs[1]!.error, "boom");
  for (const j of jobs) {
    assert.equal(j.out.state!.state, "running");
    assert.ok(j.out.memory!.currentBytes > 0);
  }
  assert.equal(failures.length, 2);
  assert.ok(runs.every((r) => r.durationSeconds >= 0));
});

test("one malformed domain record fails its collector for that domain only", () => {
  const bad = loadStats("tcg-2.stats").record;
  bad.params.delete("state.state");
  const good = loadStats("lab-1-1.stats").record;
  const jobs = [bad, good].map((r) => domainJob(r, ctx(1)));
  const failures: CollectorFailure[] = [];
  const runs = runDomainCollectors([stateCollector, cpuCollector], jobs, failures);
  assert.equal(runs[0]!.failedDomains, 1);
  assert.equal(failures[0]!.domain, "kvmon-fixture-tcg");
  assert.match(failures[0]!.error.message, /state\.state/);
  assert.ok(failures[0]!.error instanceof StatsError);
  assert.equal((failures[0]!.error as StatsError).field, "state.state");
  assert.equal(jobs[0]!.out.state, null);
  assert.ok(jobs[0]!.out.cpu, "cpu of the bad domain still collected");
  assert.equal(jobs[1]!.out.state!.state, "running");
});

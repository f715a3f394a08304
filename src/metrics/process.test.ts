import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { FamilyWriter } from "./exposition.ts";
import { processMetricsExposer } from "./process.ts";

test("process metrics: CPU grows with work, memory and fds are this process's, start time is in the past", () => {
  const render = () => {
    const w = new FamilyWriter();
    processMetricsExposer()(w.emitter([], []));
    return w.render();
  };
  const value = (text: string, name: string) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
    assert.ok(m, `${name} missing`);
    return Number(m[1]);
  };
  const before = render();
  // Burn 20 ms of this process's CPU time, however long a loaded machine takes to grant it (wall time is
  // capped so a stuck clock fails the assertion below rather than hanging).
  const start = process.cpuUsage();
  const cap = performance.now() + 20_000;
  const burnt = () => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1e6;
  };
  while (burnt() < 0.02 && performance.now() < cap);
  const after = render();
  assert.ok(value(after, "process_cpu_seconds_total") - value(before, "process_cpu_seconds_total") >= 0.02);
  assert.equal(
    value(after, "process_cpu_seconds_total").toFixed(6),
    (
      value(after, "process_cpu_user_seconds_total") + value(after, "process_cpu_system_seconds_total")
    ).toFixed(6),
  );
  const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"))![1]);
  assert.ok(Math.abs(value(after, "process_resident_memory_bytes") / 1024 - rssKiB) < rssKiB * 0.1);
  const fds = readdirSync("/proc/self/fd").length;
  assert.ok(Math.abs(value(after, "process_open_fds") - fds) <= 2);
  assert.ok(value(after, "process_max_fds") >= fds);
  const startedAt = value(after, "process_start_time_seconds");
  assert.ok(startedAt <= Date.now() / 1000 && startedAt > Date.now() / 1000 - 3600);
  assert.ok(value(after, "nodejs_heap_size_used_bytes") <= value(after, "nodejs_heap_size_total_bytes"));
  assert.match(after, new RegExp(`^nodejs_version_info\\{version="${process.version}"\\} 1$`, "m"));
  assert.match(after, /^# TYPE process_cpu_seconds_total counter$/m);
});

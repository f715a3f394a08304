import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { guestMetrics } from "./metrics.ts";

test("docs/agent.md and docs/guest-agent.md list every guest metric", () => {
  for (const file of ["agent.md", "guest-agent.md"]) {
    const doc = readFileSync(new URL(`../../../docs/${file}`, import.meta.url), "utf8");
    const missing = guestMetrics.filter((m) => !doc.includes(`\`${m.name}\``)).map((m) => m.name);
    assert.deepEqual(missing, [], `${file} lacks ${missing.join(", ")}`);
  }
});

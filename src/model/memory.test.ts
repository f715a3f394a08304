import assert from "node:assert/strict";
import { test } from "node:test";
import { memoryUsed } from "./memory.ts";

const MiB = 1024 * 1024;

test("used = available − usable when the guest reports usable (MemAvailable)", () => {
  const r = memoryUsed({
    availableBytes: 240 * MiB,
    usableBytes: 180 * MiB,
    unusedBytes: 150 * MiB,
    diskCachesBytes: 20 * MiB,
  });
  assert.deepEqual(r, { usedBytes: 60 * MiB, usedFormula: "available-usable" });
});

test("older guests: available − unused − disk_caches, then available − unused", () => {
  assert.deepEqual(
    memoryUsed({ availableBytes: 1000, usableBytes: null, unusedBytes: 400, diskCachesBytes: 100 }),
    { usedBytes: 500, usedFormula: "available-unused-caches" },
  );
  assert.deepEqual(
    memoryUsed({ availableBytes: 1000, usableBytes: null, unusedBytes: 400, diskCachesBytes: null }),
    { usedBytes: 600, usedFormula: "available-unused" },
  );
});

test("no balloon driver: unknown, never the maximum", () => {
  assert.deepEqual(
    memoryUsed({ availableBytes: null, usableBytes: null, unusedBytes: null, diskCachesBytes: null }),
    {
      usedBytes: null,
      usedFormula: null,
    },
  );
  assert.deepEqual(
    memoryUsed({ availableBytes: 1000, usableBytes: null, unusedBytes: null, diskCachesBytes: null }),
    {
      usedBytes: null,
      usedFormula: null,
    },
  );
});

test("inconsistent guest figures are clamped into [0, available]", () => {
  assert.equal(
    memoryUsed({ availableBytes: 100, usableBytes: 150, unusedBytes: null, diskCachesBytes: null }).usedBytes,
    0,
  );
});

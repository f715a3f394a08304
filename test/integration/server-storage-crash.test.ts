/**
 * kill -9 of a process writing to the embedded store, many times at random moments: every reopen is clean
 * (opens, integrity_check ok) and every acknowledged sample is there. No lab needed.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { after, test } from "node:test";
import { openEmbeddedStore } from "../../src/server/storage/embedded/store.ts";
import { CHUNK_SAMPLES, SERIES, T0, labelsOf, sampleOf } from "../storage-crash-writer.ts";

const KILLS = 20;
const dir = mkdtempSync(join(tmpdir(), "kvmon-crash-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer from batch `first`, kills it with SIGKILL after `ms`, returns the batches it acknowledged. */
async function writeAndKill(path: string, first: number, ms: number): Promise<number[]> {
  const child = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", "test/storage-crash-writer.ts", path, String(first)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  // Wait for the first ack (the child loads Node and opens the store), then a random moment of writing.
  for (let waited = 0; !out.includes("\n") && waited < 30_000; waited += 20) await sleep(20);
  await sleep(ms);
  child.kill("SIGKILL");
  await exited;
  return out
    .split("\n")
    .filter((line) => line.startsWith("ack "))
    .map((line) => Number(line.slice(4)));
}

test(`kill -9 mid-append ${KILLS} times: each reopen is clean and keeps every acknowledged sample`, async () => {
  const path = join(dir, "crash.db");
  let next = 0;
  let acked = -1;
  for (let round = 0; round < KILLS; round++) {
    const acks = await writeAndKill(path, next, Math.floor(Math.random() * 400));
    assert.ok(acks.length > 0, `round ${round}: the writer acknowledged nothing`);
    acked = Math.max(acked, ...acks);
    // Resume a little before the last ack, as a sender replaying unacknowledged batches would.
    next = Math.max(0, acked - 2);

    const check = new DatabaseSync(path);
    assert.equal(
      (check.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check,
      "ok",
    );
    check.close();
    const store = openEmbeddedStore({ path, chunkSamples: CHUNK_SAMPLES, now: () => T0 });
    try {
      const got = await store.select([{ name: "__name__", op: "=", value: "crash_test" }], {
        startMs: 0,
        endMs: 8e15,
      });
      assert.equal(got.length, SERIES);
      for (const series of got) {
        const s = Number(series.labels.series);
        assert.deepEqual(series.labels, labelsOf(s));
        const times = new Map(series.samples.map((x) => [x.t, x.v]));
        for (let n = 0; n <= acked; n++) {
          const want = sampleOf(n, s);
          assert.equal(
            times.get(want.t),
            want.v,
            `round ${round}: series ${s} batch ${n} (acked up to ${acked})`,
          );
        }
        // Nothing invented: ascending, unique, and only times of batches that were sent.
        assert.ok(series.samples.every((x, i) => i === 0 || x.t > series.samples[i - 1]!.t));
        assert.ok(series.samples.length <= acked + 2, "at most the batch in flight beyond the last ack");
      }
      assert.ok(store.stats().series === SERIES);
    } finally {
      await store.close();
    }
  }
  assert.ok(acked > 5 * CHUNK_SAMPLES, `enough batches to cut chunks across the kills (acked ${acked})`);
});

/**
 * The child of test/integration/server-storage-crash.test.ts: appends batches to an embedded store and prints
 * `ack <n>` once batch n's append resolved (stdout is a pipe: synchronous on Linux, so a printed ack was
 * written before the next append started). Batch n carries one sample per series at time T0 + n s, value n * s;
 * it also re-sends batch n - 3 (a replay after a lost acknowledgement: duplicates in the head and, past a chunk
 * cut, on the late path), so crashes land in those paths too. Runs until killed.
 * Usage: node test/storage-crash-writer.ts <db path> <first batch>
 */
import { openEmbeddedStore } from "../src/server/storage/embedded/store.ts";
import type { Series } from "../src/server/storage/types.ts";

export const SERIES = 40;
export const T0 = Date.UTC(2026, 0, 1);
export const CHUNK_SAMPLES = 16;
export const sampleOf = (batch: number, series: number) => ({
  t: T0 + batch * 1000,
  v: batch * (series + 1),
});
export const labelsOf = (series: number) => ({ __name__: "crash_test", series: String(series) });

function batchOf(n: number): Series[] {
  return Array.from({ length: SERIES }, (_, s) => ({ labels: labelsOf(s), samples: [sampleOf(n, s)] }));
}

if (import.meta.main) {
  const [path, first] = process.argv.slice(2);
  const store = openEmbeddedStore({ path: path!, chunkSamples: CHUNK_SAMPLES, now: () => T0 });
  for (let n = Number(first); ; n++) {
    const replay = n >= 3 ? batchOf(n - 3) : [];
    await store.append([...batchOf(n), ...replay]);
    process.stdout.write(`ack ${n}\n`);
  }
}

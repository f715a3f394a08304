import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { SeriesLimitError, StorageClosedError, StorageOpenError, StorageQueryError } from "../errors.ts";
import type { Labels, Sample, Series } from "../types.ts";
import { HOUR_MS, MINUTE_MS } from "./rollup.ts";
import { type EmbeddedStoreOptions, openEmbeddedStore } from "./store.ts";

const dir = mkdtempSync(join(tmpdir(), "kvmon-store-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const T0 = Date.UTC(2026, 0, 1);
const ALL = { startMs: 0, endMs: 8e15 };

function open(options: Partial<EmbeddedStoreOptions> = {}, path = join(dir, `s${++n}.db`)) {
  return openEmbeddedStore({ path, now: () => T0 + 10 * 86_400_000, ...options });
}

const cpu = (domain: string, host = "h1"): Labels => ({
  __name__: "kvmon_domain_cpu_seconds_total",
  domain,
  host,
});

function regular(count: number, from = T0, stepMs = 10_000, value = (i: number) => i): Sample[] {
  return Array.from({ length: count }, (_, i) => ({ t: from + i * stepMs, v: value(i) }));
}

describe("EmbeddedStore", () => {
  it("returns what was appended across chunk cuts, range ends included", async () => {
    const store = open({ chunkSamples: 10 });
    const samples = regular(95);
    for (let i = 0; i < samples.length; i += 7)
      await store.append([{ labels: cpu("a"), samples: samples.slice(i, i + 7) }]);
    const [s] = await store.select([{ name: "domain", op: "=", value: "a" }], ALL);
    assert.deepEqual(s!.samples, samples);
    assert.deepEqual(s!.labels, cpu("a"));
    const inner = await store.select([], { startMs: samples[10]!.t, endMs: samples[20]!.t });
    assert.deepEqual(inner[0]!.samples, samples.slice(10, 21));
    assert.deepEqual(await store.select([], { startMs: samples[94]!.t + 1, endMs: 8e15 }), []);
    await store.close();
  });

  it("answers all four matcher ops, anchored regexes, and absent labels as empty", async () => {
    const store = open();
    await store.append([
      { labels: cpu("web-1"), samples: [{ t: T0, v: 1 }] },
      { labels: cpu("web-2", "h2"), samples: [{ t: T0, v: 2 }] },
      { labels: cpu("db-1"), samples: [{ t: T0, v: 3 }] },
      { labels: { __name__: "up", host: "h1" }, samples: [{ t: T0, v: 1 }] },
    ]);
    const domains = async (m: Parameters<typeof store.series>[0]) =>
      (await store.series(m, ALL)).map((l) => l.domain ?? "-").sort();
    assert.deepEqual(await domains([{ name: "domain", op: "=", value: "web-1" }]), ["web-1"]);
    assert.deepEqual(await domains([{ name: "domain", op: "!=", value: "web-1" }]), ["-", "db-1", "web-2"]);
    assert.deepEqual(await domains([{ name: "domain", op: "=~", value: "web-.*" }]), ["web-1", "web-2"]);
    assert.deepEqual(await domains([{ name: "domain", op: "=~", value: "web" }]), [], "anchored");
    assert.deepEqual(await domains([{ name: "domain", op: "!~", value: "web-.*" }]), ["-", "db-1"]);
    assert.deepEqual(await domains([{ name: "domain", op: "=", value: "" }]), ["-"]);
    assert.deepEqual(
      await domains([
        { name: "domain", op: "=~", value: ".+" },
        { name: "host", op: "=", value: "h1" },
      ]),
      ["db-1", "web-1"],
    );
    assert.deepEqual(await store.labelNames([], ALL), ["__name__", "domain", "host"]);
    assert.deepEqual(await store.labelValues("host", [{ name: "domain", op: "=~", value: "web.*" }], ALL), [
      "h1",
      "h2",
    ]);
    assert.equal(store.seriesCount([{ name: "host", op: "=", value: "h1" }]), 3);
    await store.append([{ labels: cpu("empty"), samples: [] }]);
    assert.equal(store.seriesCount(), 4, "a series without samples is not created");
    await assert.rejects(store.select([{ name: "domain", op: "=~", value: "(" }], ALL), StorageQueryError);
    await store.close();
  });

  it("ignores exact duplicates (in the head and in closed chunks) and keeps the first value", async () => {
    const store = open({ chunkSamples: 5 });
    const samples = regular(12);
    await store.append([{ labels: cpu("a"), samples }]);
    await store.append([{ labels: cpu("a"), samples: samples.map((s) => ({ t: s.t, v: s.v + 100 })) }]);
    assert.deepEqual((await store.select([], ALL))[0]!.samples, samples);
    assert.equal(store.stats().duplicateSamples, 12);
    assert.equal(store.stats().lateSamples, 0);
    await store.close();
  });

  it("accepts out-of-order samples in the head and older than closed chunks", async () => {
    const store = open({ chunkSamples: 5 });
    const samples = regular(20);
    const shuffled = [samples[3], samples[1], samples[0], samples[2], samples[4]] as Sample[];
    await store.append([{ labels: cpu("a"), samples: shuffled }]);
    await store.append([{ labels: cpu("a"), samples: samples.slice(6, 20) }]);
    await store.append([{ labels: cpu("a"), samples: [samples[5]!] }]); // before the closed chunks' end
    assert.deepEqual((await store.select([], ALL))[0]!.samples, samples);
    assert.equal(store.stats().lateSamples, 1);
    await store.close();
  });

  it("rebuilds the head from its WAL at open, and keeps everything across reopen", async () => {
    const path = join(dir, "reopen.db");
    let store = open({ chunkSamples: 10 }, path);
    const a = regular(25);
    const b = regular(3, T0 + 5);
    await store.append([
      { labels: cpu("a"), samples: a },
      { labels: cpu("b"), samples: b },
    ]);
    await store.close();
    store = open({ chunkSamples: 10 }, path);
    assert.equal(store.stats().headSeries, 2);
    const got = await store.select([], ALL);
    assert.deepEqual(
      got.map((s) => s.samples),
      [a, b],
    );
    await store.append([{ labels: cpu("a"), samples: a }]); // a replay after a lost ack
    assert.equal(store.stats().duplicateSamples, 25);
    store.flush();
    assert.equal(store.stats().headSeries, 0);
    assert.deepEqual(
      (await store.select([], ALL)).map((s) => s.samples),
      [a, b],
    );
    await store.close();
    await assert.rejects(store.select([], ALL), StorageClosedError);
  });

  it("refuses a file that is not a store, and a store of another layout", () => {
    const garbage = join(dir, "garbage.db");
    writeFileSync(garbage, "not a database".repeat(100));
    assert.throws(
      () => open({}, garbage),
      (e: unknown) => e instanceof StorageOpenError && e.code === "STORAGE_OPEN",
    );
    const other = join(dir, "layout.db");
    const db = new DatabaseSync(other);
    db.exec(
      "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID; INSERT INTO meta VALUES ('layout', '99')",
    );
    db.close();
    assert.throws(() => open({}, other), /layout 99/);
  });

  it("refuses a batch that exceeds the per-host series limit, storing none of it", async () => {
    const store = open({ seriesLimit: { label: "host", max: 2 } });
    await store.append([{ labels: cpu("a"), samples: [{ t: T0, v: 1 }] }]);
    const batch: Series[] = [
      { labels: cpu("a"), samples: [{ t: T0 + 1, v: 1 }] },
      { labels: cpu("b"), samples: [{ t: T0, v: 1 }] },
      { labels: cpu("c"), samples: [{ t: T0, v: 1 }] },
    ];
    await assert.rejects(
      store.append(batch),
      (e: unknown) => e instanceof SeriesLimitError && e.value === "h1",
    );
    assert.equal(store.seriesCount(), 1);
    assert.equal((await store.select([], ALL))[0]!.samples.length, 1);
    await store.append([{ labels: cpu("x", "h2"), samples: [{ t: T0, v: 1 }] }]); // another host has room
    await store.close();
  });

  it("drops samples older than the raw retention and expires chunks, rollups and empty series", async () => {
    let now = T0 + 20 * 86_400_000;
    const path = join(dir, "retention.db");
    const options = {
      chunkSamples: 10,
      now: () => now,
      retention: { rawMs: 86_400_000, minuteMs: 2 * 86_400_000, hourMs: 3 * 86_400_000 },
    };
    let store = open(options, path);
    await store.append([{ labels: cpu("old"), samples: regular(5) }]);
    assert.equal(store.stats().droppedSamples, 5);
    const day = now - 12 * HOUR_MS;
    await store.append([{ labels: cpu("a"), samples: regular(40, day, 60_000) }]);
    await store.close();
    now += 86_400_000; // raw expired, minutes kept
    store = open(options, path);
    assert.deepEqual(await store.select([], { startMs: 0, endMs: day + HOUR_MS }), []);
    const minutes = await store.select([], { startMs: day, endMs: day + HOUR_MS }, { stepMs: MINUTE_MS });
    assert.equal(minutes[0]!.samples.length, 40, "the expired head was closed into the rollups first");
    now += 10 * 86_400_000; // everything expired
    store.compact();
    await store.close();
    store = open(options, path);
    assert.deepEqual(await store.series([], ALL), []);
    assert.equal(store.stats().series, 0);
    await store.close();
  });

  it("finds a frozen label record's series by identity while the series lives, never a deleted one's", async () => {
    let now = T0 + 20 * 86_400_000;
    const store = open({
      now: () => now,
      retention: { rawMs: 86_400_000, minuteMs: 2 * 86_400_000, hourMs: 3 * 86_400_000 },
    });
    const a = Object.freeze(cpu("a"));
    const b = Object.freeze(cpu("b"));
    // The same two records in the same order: the second is found as the first's successor.
    for (const from of [now - HOUR_MS, now - HOUR_MS + 30_000])
      await store.append([
        { labels: a, samples: regular(3, from) },
        { labels: b, samples: regular(3, from) },
      ]);
    const both = () => store.select([{ name: "domain", op: "=~", value: "a|b" }], ALL);
    assert.deepEqual(
      (await both()).map((s) => s.samples.length),
      [6, 6],
    );
    // b's samples expire and it is deleted; a lives on with a sample after the jump.
    await store.append([{ labels: a, samples: regular(1, now + 10 * 86_400_000 - 120_000) }]);
    now += 10 * 86_400_000;
    store.compact();
    assert.equal(store.stats().series, 1);
    await store.append([
      { labels: a, samples: regular(1, now - 60_000) },
      { labels: b, samples: regular(2, now - 60_000) },
    ]);
    const [, newB] = await both();
    assert.deepEqual(
      newB?.samples,
      regular(2, now - 60_000),
      "b is stored in a new series, not the deleted one",
    );
    // A record that is not frozen may change between appends: it is looked up by its labels each time.
    const mutable: Record<string, string> = { ...cpu("m") };
    await store.append([{ labels: mutable, samples: regular(1, now - 1000) }]);
    mutable.domain = "c";
    await store.append([{ labels: mutable, samples: regular(1, now - 500) }]);
    const c = await store.select([{ name: "domain", op: "=", value: "c" }], ALL);
    assert.equal(c.length, 1);
    assert.equal(store.stats().series, 4);
    await store.close();
  });
});

/** Brute force: what a whole bucket of raw samples gives, for the views the rollups serve. */
function bruteForce(samples: Sample[], width: number) {
  const byBucket = new Map<number, { max: number; sum: number; count: number; last: number; inc: number }>();
  let prev: number | undefined;
  for (const { t, v } of samples) {
    const start = Math.floor(t / width) * width;
    const b = byBucket.get(start) ?? { max: -Infinity, sum: 0, count: 0, last: 0, inc: 0 };
    b.max = Math.max(b.max, v);
    b.sum += v;
    b.count++;
    b.last = v;
    if (prev !== undefined) b.inc += v >= prev ? v - prev : v;
    prev = v;
    byBucket.set(start, b);
  }
  return [...byBucket.entries()].sort((a, b) => a[0] - b[0]);
}

describe("EmbeddedStore rollups", () => {
  it("count a late sample once in the hour the head is still filling", async () => {
    const store = open({ chunkSamples: 5 });
    const samples = regular(12, T0, 60_000, (i) => i * 10); // one hour, chunks of 5, the head holds the last 2
    await store.append([{ labels: cpu("a"), samples: samples.filter((_, i) => i !== 3) }]);
    await store.append([{ labels: cpu("a"), samples: [samples[3]!] }]); // late: before the newest closed chunk
    assert.equal(store.stats().lateSamples, 1);
    store.flush(); // closes the head into the same hour
    // A later hour, so hour 0 is answered from its stored row (the newest hour is recomputed from raw).
    await store.append([{ labels: cpu("a"), samples: regular(3, T0 + HOUR_MS, 60_000, () => 500) }]);
    store.flush();
    const [hour] = (
      await store.select([], ALL, { stepMs: HOUR_MS, func: "avg_over_time", rollups: true })
    )[0]!.samples;
    assert.equal(hour!.v, samples.reduce((sum, s) => sum + s.v, 0) / samples.length);
    const [max] = (await store.select([], ALL, { stepMs: HOUR_MS, func: "max_over_time", rollups: true }))[0]!
      .samples;
    assert.equal(max!.v, 110);
    await store.close();
  });

  it("match a brute-force computation (1 min and 1 h; avg, max, last, counter increase with resets), before and after raw expires", async () => {
    let now = T0 + 86_400_000;
    const options = {
      now: () => now,
      retention: { rawMs: 2 * 86_400_000, minuteMs: 10 * 86_400_000, hourMs: 20 * 86_400_000 },
    };
    const path = join(dir, "rollups.db");
    let store = open(options, path);
    let v = 0;
    let seed = 11;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const samples = regular(6 * 60 * 7 + 13, T0 + 3_000, 10_000, () => {
      v = rnd() < 0.005 ? rnd() * 10 : v + rnd() * 100; // a counter with resets
      return v;
    }).map((s) => ({ t: s.t + Math.floor(rnd() * 20), v: s.v }));
    const late = samples[1000]!; // in hour 2, appended after its chunk closed
    for (let i = 0; i < samples.length; i += 50) {
      if (i === 1500) {
        await store.close(); // the open hour's running total is read back after a reopen
        store = open(options, path);
      }
      const batch = samples.slice(i, i + 50).filter((s) => s !== late);
      await store.append([{ labels: cpu("a"), samples: batch }]);
    }
    await store.append([{ labels: cpu("a"), samples: [late] }]);
    assert.equal(store.stats().lateSamples, 1);
    const range = { startMs: T0, endMs: T0 + 8 * HOUR_MS };
    const compare = async (when: string, rollups: boolean) => {
      for (const width of [MINUTE_MS, HOUR_MS]) {
        const expected = bruteForce(samples, width);
        const get = async (func?: string) =>
          (await store.select([], range, { stepMs: width, func, rollups }))[0]!.samples;
        const [last, max, avg, rate] = await Promise.all([
          get(),
          get("max_over_time"),
          get("avg_over_time"),
          get("rate"),
        ]);
        const what = `${when}, ${width / MINUTE_MS} min buckets`;
        assert.deepEqual(
          last.map((s) => s.t),
          expected.map(([start]) => start + width - 1),
          what,
        );
        assert.deepEqual(
          last.map((s) => s.v),
          expected.map(([, b]) => b.last),
          what,
        );
        assert.deepEqual(
          max.map((s) => s.v),
          expected.map(([, b]) => b.max),
          what,
        );
        avg.forEach((s, i) =>
          assert.ok(Math.abs(s.v - expected[i]![1].sum / expected[i]![1].count) < 1e-6 * Math.abs(s.v), what),
        );
        let running = 0;
        rate.forEach((s, i) => {
          running += expected[i]![1].inc;
          assert.ok(Math.abs(s.v - running) < 1e-6 * running, `${what} bucket ${i}: ${s.v} vs ${running}`);
        });
      }
    };
    await compare("from raw", true);
    // PromQL (no rollups hint) reads raw wherever raw exists, whatever the step
    for (const func of [undefined, "rate", "avg_over_time", "max_over_time"]) {
      const promql = (await store.select([], range, { stepMs: HOUR_MS, func }))[0]!.samples;
      assert.deepEqual(
        promql,
        [...samples].sort((a, b) => a.t - b.t),
        `raw for ${func ?? "a selector"}`,
      );
    }
    // raw for the functions a rollup would get wrong, and for fine steps
    const raw = (await store.select([], range, { stepMs: HOUR_MS, func: "irate" }))[0]!.samples;
    assert.equal(raw.length, samples.length);
    assert.equal(
      (await store.select([], range, { stepMs: 30_000, func: "max_over_time" }))[0]!.samples.length,
      samples.length,
    );

    now += 5 * 86_400_000; // raw expires: the minute rollups are written from it first
    store.compact();
    assert.deepEqual(await store.select([], range), [], "raw is gone");
    await compare("from stored rollups", true);
    await compare("older than raw retention, for PromQL too", false);
    now += 8 * 86_400_000; // minutes expire too: hours remain
    store.compact();
    assert.deepEqual(await store.select([], range, { stepMs: MINUTE_MS }), []);
    assert.equal((await store.select([], range, { stepMs: HOUR_MS }))[0]!.samples.length, 8);
    await store.close();
  });

  it("answer PromQL from raw where raw remains and from rollups before it, a counter running on across the seam", async () => {
    let now = T0 + 86_400_000 - 1;
    const options = {
      chunkSamples: 30,
      now: () => now,
      retention: { rawMs: 86_400_000, minuteMs: 10 * 86_400_000, hourMs: 20 * 86_400_000 },
    };
    const store = open(options, join(dir, "seam.db"));
    const samples = regular(24 * 60, T0, 60_000, (i) => 1000 + 5 * i); // a counter, +5 a minute, a day
    for (let i = 0; i < samples.length; i += 240)
      await store.append([{ labels: cpu("a"), samples: samples.slice(i, i + 240) }]);
    store.flush();
    now += 12 * HOUR_MS; // the first 12 h of raw expire into minute rollups
    store.compact();
    const range = { startMs: T0, endMs: T0 + 86_400_000 };
    const rawLeft = (await store.select([], range))[0]!.samples;
    assert.ok(rawLeft.length < samples.length && rawLeft[0]!.t > T0, "part of raw expired");
    const rate = (await store.select([], range, { stepMs: MINUTE_MS, func: "rate" }))[0]!.samples;
    const seam = rate.findIndex((s) => s.t === rawLeft[0]!.t);
    assert.ok(seam > 0, "rollup samples come before the raw ones");
    assert.deepEqual(rate.slice(seam), rawLeft, "raw where raw remains");
    for (let i = 1; i < seam; i++) assert.equal(rate[i]!.v - rate[i - 1]!.v, 5, `minute ${i}: +5 a minute`);
    assert.equal(rate[seam - 1]!.v, rawLeft[0]!.v, "the running total ends at the first raw value");
    const max = (await store.select([], range, { stepMs: MINUTE_MS, func: "max_over_time" }))[0]!.samples;
    assert.deepEqual(
      max.slice(0, seam).map((s) => s.v),
      samples.slice(0, seam).map((s) => s.v),
      "levels before the seam: each minute's own value",
    );
    assert.deepEqual(
      (await store.select([], range, { stepMs: 10_000, func: "rate" }))[0]!.samples,
      rawLeft,
      "a step under a minute reads raw only",
    );
    await store.close();
  });
});

/**
 * The embedded `SeriesStore`: SQLite in one file (schema.ts), series dictionary and inverted index in memory
 * (labels.ts, symbols.ts), samples in Gorilla chunks (chunk.ts) cut from an in-memory head (head.ts) that the
 * head-WAL makes durable before `append` resolves, hour rollups (rollup.ts) written as chunks close, minute
 * rollups as raw chunks expire, and retention. One transaction per append; everything runs synchronously on the caller's thread (node:sqlite
 * is synchronous), so appends never interleave.
 */
import { DatabaseSync } from "node:sqlite";
import {
  SeriesLimitError,
  StorageClosedError,
  StorageError,
  StorageOpenError,
  StorageWriteError,
} from "../errors.ts";
import type { Labels, Matcher, Sample, SelectHints, Series, SeriesStore, TimeRange } from "../types.ts";
import { decodeChunk, encodeChunk } from "./chunk.ts";
import { SeriesState, encodeWalRecord, forEachWalSample } from "./head.ts";
import { Postings, SeriesDictionary, canonicalKey, labelsOfKey } from "./labels.ts";
import { SymbolTable } from "./symbols.ts";
import {
  type Bucket,
  HOUR_MS,
  MINUTE_MS,
  bucketSamples,
  bucketize,
  coarsen,
  decodeBuckets,
  encodeBuckets,
  mergeBuckets,
  rollupAnswers,
} from "./rollup.ts";
import {
  LAYOUT_VERSION,
  type Statements,
  type Synchronous,
  prepareSchema,
  prepareStatements,
} from "./schema.ts";

const DAY_MS = 86_400_000;

type ChunkRow = { id: number; data: Uint8Array };
type ExpiringChunk = { prevV: number | null; data: Uint8Array };

export interface Retention {
  /** Raw samples (chunks). */
  readonly rawMs: number;
  /** 1-minute rollups. */
  readonly minuteMs: number;
  /** 1-hour rollups. */
  readonly hourMs: number;
}

/** Per series at a 10 s interval: raw ~43 KB a day, 1-minute rollups ~37 KB a day, an hour row ~60 B. */
export const DEFAULT_RETENTION: Retention = {
  rawMs: 15 * DAY_MS,
  minuteMs: 30 * DAY_MS,
  hourMs: 365 * DAY_MS,
};

export interface EmbeddedStoreOptions {
  /** The database file (created when missing). */
  readonly path: string;
  /**
   * SQLite's `synchronous` in WAL mode. NORMAL (default): a committed append survives a crash of the process
   * (kill -9) but not a power loss or kernel crash (the last transactions may roll back). FULL: survives both, at
   * one fsync per append.
   */
  readonly synchronous?: Synchronous;
  readonly retention?: Partial<Retention>;
  /** A chunk is cut at this many samples (default 120) ... */
  readonly chunkSamples?: number;
  /** ... or when it would span more than this (default 2 h). */
  readonly chunkSpanMs?: number;
  /** At most `max` series per value of `label` (e.g. per host); a batch over it is refused whole. */
  readonly seriesLimit?: { readonly label: string; readonly max: number };
  /** The wall clock for retention (tests set it). */
  readonly now?: () => number;
}

export interface StoreStats {
  readonly series: number;
  /** Series with an open head chunk. */
  readonly headSeries: number;
  /** Samples ignored as exact duplicates of stored ones. */
  readonly duplicateSamples: number;
  /** Samples at or before a series' newest closed chunk, stored in a chunk of their own. */
  readonly lateSamples: number;
  /** Samples older than the raw retention (or with a non-finite time), not stored. */
  readonly droppedSamples: number;
}

/** Appends between two maintenance passes (idle heads cut, head-WAL truncated, retention when due). */
const MAINTAIN_EVERY = 64;
/** Retention runs hourly: each run writes one minute-rollup row per series for the raw chunks it expires. */
const RETENTION_EVERY_MS = 60 * 60_000;

export class EmbeddedStore implements SeriesStore {
  private readonly db: DatabaseSync;
  private readonly sql: Statements;
  private readonly retention: Retention;
  private readonly chunkSamples: number;
  private readonly chunkSpanMs: number;
  private readonly seriesLimit: EmbeddedStoreOptions["seriesLimit"];
  private readonly now: () => number;

  private dictionary = new SeriesDictionary<SeriesState>();
  /**
   * Frozen label records a caller passes again and again (the ingest route keeps one per series): their series
   * by identity, which skips hashing and comparing the labels. An entry is trusted only while its series lives.
   */
  private readonly byRecord = new WeakMap<Labels, SeriesState>();
  private symbols: SymbolTable;
  private byId = new Map<number, SeriesState>();
  private postings = new Postings();
  private nextId = 1;
  private walSeq = 0;
  /** The newest sample time seen: heads idle for a chunk span behind it are cut. */
  private newestT = -Infinity;
  private appendsSinceMaintenance = 0;
  private lastRetentionAt = -Infinity;
  private closed = false;
  private counters = { duplicateSamples: 0, lateSamples: 0, droppedSamples: 0 };

  private constructor(db: DatabaseSync, options: EmbeddedStoreOptions) {
    this.db = db;
    this.sql = prepareStatements(db);
    this.symbols = this.newSymbolTable();
    this.retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.chunkSamples = options.chunkSamples ?? 120;
    this.chunkSpanMs = options.chunkSpanMs ?? 2 * HOUR_MS;
    this.seriesLimit = options.seriesLimit;
    this.now = options.now ?? Date.now;
  }

  /** Opens (or creates) the store and replays the head-WAL. */
  static open(options: EmbeddedStoreOptions): EmbeddedStore {
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(options.path);
      const layout = prepareSchema(db, options.synchronous ?? "NORMAL");
      if (layout !== LAYOUT_VERSION) {
        throw new StorageOpenError(
          options.path,
          `layout ${layout}, this kvmon reads layout ${LAYOUT_VERSION}`,
        );
      }
      const store = new EmbeddedStore(db, options);
      store.transaction(() => {
        const now = store.now();
        store.load();
        store.applyRetention(now);
      });
      return store;
    } catch (cause) {
      db?.close();
      if (cause instanceof StorageError) throw cause;
      throw new StorageOpenError(options.path, String((cause as Error).message ?? cause), { cause });
    }
  }

  async append(batch: readonly Series[]): Promise<void> {
    this.assertOpen();
    const resolved = this.resolveSeries(batch);
    const now = this.now();
    try {
      this.transaction(() => this.write(batch, resolved, now));
    } catch (cause) {
      // Memory may hold part of the batch: rebuild it from what committed.
      this.transaction(() => this.load());
      throw new StorageWriteError(`append of ${batch.length} series did not commit`, { cause });
    }
  }

  async select(matchers: readonly Matcher[], range: TimeRange, hints?: SelectHints): Promise<Series[]> {
    this.assertOpen();
    const width = rollupWidth(hints);
    const states = this.postings.select(matchers).map((id) => this.byId.get(id)!);
    const out: Series[] = [];
    const keep = (st: SeriesState, samples: Sample[]) => {
      if (samples.length > 0) out.push({ labels: st.labels, samples });
    };
    if (width !== 0 && hints?.rollups === true) {
      for (const st of states)
        keep(st, this.rollupSamples(st, width, hints.func, range.startMs, range.endMs));
      return out;
    }
    const raw = this.rawSamplesOf(states, range.startMs, range.endMs);
    // Only a range reaching back past raw retention can have a part that rollups alone still hold.
    const olderThanRaw = width !== 0 && range.startMs < this.now() - this.retention.rawMs;
    states.forEach((st, i) => {
      const samples = raw[i]!;
      const firstRawT = samples[0]?.t ?? range.endMs + 1;
      if (!olderThanRaw || firstRawT <= range.startMs) return keep(st, samples);
      const older = this.rollupSamples(st, width, hints?.func, range.startMs, firstRawT - 1);
      keep(st, [...spliced(older, samples, hints?.func), ...samples]);
    });
    return out;
  }

  private rollupSamples(
    st: SeriesState,
    width: number,
    func: string | undefined,
    startMs: number,
    endMs: number,
  ): Sample[] {
    const buckets = this.buckets(st, width, startMs - width + 1, endMs);
    return bucketSamples(buckets, width, func, startMs, endMs);
  }

  async series(matchers: readonly Matcher[], range: TimeRange): Promise<Labels[]> {
    this.assertOpen();
    return this.matching(matchers, range).map((st) => st.labels);
  }

  async labelNames(matchers: readonly Matcher[], range: TimeRange): Promise<string[]> {
    this.assertOpen();
    const names = new Set<string>();
    for (const st of this.matching(matchers, range))
      for (const name of Object.keys(st.labels)) names.add(name);
    return [...names].sort();
  }

  async labelValues(name: string, matchers: readonly Matcher[], range: TimeRange): Promise<string[]> {
    this.assertOpen();
    const values = new Set<string>();
    for (const st of this.matching(matchers, range)) {
      const v = st.labels[name];
      if (v !== undefined) values.add(v);
    }
    return [...values].sort();
  }

  /** How many series match (all series for none): the ingest side's view for per-host limits. */
  seriesCount(matchers: readonly Matcher[] = []): number {
    return matchers.length === 0 ? this.postings.size : this.postings.select(matchers).length;
  }

  stats(): StoreStats {
    let headSeries = 0;
    for (const st of this.byId.values()) if (st.head) headSeries++;
    return { series: this.byId.size, headSeries, ...this.counters };
  }

  /** Deletes what retention no longer keeps (also run on open and hourly while appends come). */
  compact(): void {
    this.assertOpen();
    this.transaction(() => this.applyRetention(this.now()));
  }

  /**
   * Closes every open head into chunks and rollups, truncates the head-WAL, returns free pages to the file
   * system and checkpoints SQLite's WAL into the database file: before a backup, or to measure bytes on disk.
   * Later samples of those series open new heads.
   */
  flush(): void {
    this.assertOpen();
    this.transaction(() => this.closeHeadsBefore(Infinity));
    this.db.exec("PRAGMA incremental_vacuum");
    this.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  // --- writing -------------------------------------------------------------------------------------------

  /** The state of every series of the batch, or for a new one its canonical key (created by write()). */
  private resolveSeries(batch: readonly Series[]): (SeriesState | string)[] {
    const fresh = new Map<string, Labels>();
    let prev: SeriesState | undefined;
    const out = batch.map((s) => {
      // The series that followed the previous one last time, when this is its record: no lookup at all.
      const guess = prev?.next;
      const st =
        guess !== undefined && guess.record === s.labels && guess.live ? guess : this.lookup(s.labels);
      if (prev !== undefined && st !== undefined) prev.next = st;
      prev = st;
      if (st) return st;
      const key = canonicalKey(s.labels);
      if (s.samples.length > 0 && !fresh.has(key)) fresh.set(key, labelsOfKey(key));
      return key;
    });
    if (this.seriesLimit && fresh.size > 0) this.checkLimit(this.seriesLimit, fresh.values());
    return out;
  }

  private lookup(labels: Labels): SeriesState | undefined {
    const known = this.byRecord.get(labels);
    const st = known?.live ? known : this.dictionary.get(labels);
    if (st !== undefined && Object.isFrozen(labels)) {
      if (known !== st) this.byRecord.set(labels, st);
      st.record = labels;
    }
    return st;
  }

  private checkLimit(limit: { label: string; max: number }, fresh: Iterable<Labels>): void {
    const adding = new Map<string, number>();
    for (const labels of fresh) {
      const value = labels[limit.label] ?? "";
      const n = (adding.get(value) ?? this.postings.count(limit.label, value)) + 1;
      if (n > limit.max) throw new SeriesLimitError(limit.label, value, limit.max);
      adding.set(value, n);
    }
  }

  private write(batch: readonly Series[], resolved: (SeriesState | string)[], now: number): void {
    const seq = ++this.walSeq;
    const oldest = now - this.retention.rawMs;
    const walIds: number[] = [];
    const walTs: number[] = [];
    const walVs: number[] = [];
    const late = new Map<SeriesState, Sample[]>();
    const created = new Map<string, SeriesState>();
    for (let i = 0; i < batch.length; i++) {
      if (batch[i]!.samples.length === 0) continue; // no series without samples
      const r = resolved[i]!;
      let st: SeriesState;
      if (typeof r !== "string") st = r;
      else {
        st = created.get(r) ?? this.createSeries(r);
        created.set(r, st);
      }
      for (const { t, v } of batch[i]!.samples) {
        if (!(t >= oldest) || !Number.isFinite(t)) {
          this.counters.droppedSamples++;
        } else if (t <= st.closedMaxT) {
          const list = late.get(st);
          if (list) list.push({ t, v });
          else late.set(st, [{ t, v }]);
        } else {
          this.cutIfDue(st, t);
          if (!st.insert(t, v, seq)) {
            this.counters.duplicateSamples++;
            continue;
          }
          walIds.push(st.id);
          walTs.push(t);
          walVs.push(v);
          if (t > this.newestT) this.newestT = t;
        }
      }
    }
    if (walIds.length > 0) this.sql.insertWal.run(seq, encodeWalRecord(walIds, walTs, walVs));
    for (const [st, samples] of late) this.writeLate(st, samples);
    if (++this.appendsSinceMaintenance >= MAINTAIN_EVERY) this.maintain(now);
  }

  private createSeries(key: string): SeriesState {
    const st = new SeriesState(this.nextId++, labelsOfKey(key));
    this.sql.insertSeries.run(st.id, this.symbols.encode(st.labels));
    this.register(st);
    return st;
  }

  private register(st: SeriesState): void {
    this.dictionary.add(st);
    this.byId.set(st.id, st);
    this.postings.add(st.id, st.labels);
  }

  private cutIfDue(st: SeriesState, t: number): void {
    const head = st.head;
    if (head && t > head.maxT && (head.count >= this.chunkSamples || t - head.minT >= this.chunkSpanMs)) {
      this.closeHead(st);
    }
  }

  /** Writes the head as a closed chunk, and the hour rows it adds to (the open hour's row is rewritten). */
  private closeHead(st: SeriesState): void {
    const head = st.head!;
    const bytes = head.bytes();
    const samples = decodeChunk(bytes);
    const prev = this.lastClosed(st);
    const open = this.openHour(st);
    this.sql.insertChunk.run(st.id, head.minT, head.maxT, prev?.v ?? null, bytes);
    const hours = bucketize(samples, prev, HOUR_MS);
    if (open && hours[0]?.start === open.start) hours[0] = mergeBuckets([[open], [hours[0]]])[0]!;
    for (const b of hours) this.sql.insertHour.run(st.id, b.start, b.count, b.sum, b.max, b.last, b.inc);
    st.head = undefined;
    st.closedMaxT = head.maxT;
    st.lastClosed = samples[samples.length - 1];
    st.openHour = hours[hours.length - 1] ?? open;
  }

  /** The stored row of the hour the newest closed sample is in (read once after open). */
  private openHour(st: SeriesState): Bucket | null {
    if (st.openHour !== undefined) return st.openHour;
    if (st.closedMaxT === -Infinity) return (st.openHour = null);
    const hour = floorTo(st.closedMaxT, HOUR_MS);
    return (st.openHour = (this.sql.hoursInRange.get(st.id, hour, hour) as Bucket | undefined) ?? null);
  }

  /**
   * Rewrites the hour rows of the hours [minT, maxT] touches from the raw samples (and the hour before, for the
   * first increase): after late samples, which closeHead's running total did not see.
   */
  private rollHours(st: SeriesState, minT: number, maxT: number): void {
    const from = floorTo(minT, HOUR_MS);
    // Closed chunks only: the head's samples join the open hour's row when the head closes.
    const samples = mergeSamples(this.closedParts(st, from - HOUR_MS, floorTo(maxT, HOUR_MS) + HOUR_MS - 1));
    for (const b of bucketize(samples, undefined, HOUR_MS)) {
      if (b.start >= from) this.sql.insertHour.run(st.id, b.start, b.count, b.sum, b.max, b.last, b.inc);
    }
  }

  /** The newest closed sample (read from the last chunk once after open). */
  private lastClosed(st: SeriesState): Sample | undefined {
    if (st.lastClosed || st.closedMaxT === -Infinity) return st.lastClosed;
    const row = this.sql.lastChunk.get(st.id) as { data: Uint8Array } | undefined;
    st.lastClosed = row ? decodeChunk(row.data).at(-1) : undefined;
    return st.lastClosed;
  }

  /**
   * Samples at or before the newest closed chunk: stored as a chunk of their own, minus exact duplicates of
   * stored samples (a replayed batch). The rollups see them: minutes are made from raw, hours rewritten.
   */
  private writeLate(st: SeriesState, samples: Sample[]): void {
    samples.sort((a, b) => a.t - b.t);
    const stored = new Set<number>();
    for (const s of this.rawSamples(st, samples[0]!.t, samples[samples.length - 1]!.t)) stored.add(s.t);
    const fresh: Sample[] = [];
    for (const s of samples) {
      if (stored.has(s.t)) this.counters.duplicateSamples++;
      else {
        stored.add(s.t);
        fresh.push(s);
      }
    }
    if (fresh.length === 0) return;
    this.counters.lateSamples += fresh.length;
    this.sql.insertChunk.run(st.id, fresh[0]!.t, fresh[fresh.length - 1]!.t, null, encodeChunk(fresh));
    this.rollHours(st, fresh[0]!.t, fresh[fresh.length - 1]!.t);
    st.openHour = undefined; // its row may have been rewritten
  }

  /** Cuts heads idle for a chunk span, truncates the head-WAL below the oldest open head, applies retention. */
  private maintain(now: number): void {
    this.appendsSinceMaintenance = 0;
    this.closeHeadsBefore(this.newestT - this.chunkSpanMs);
    if (now - this.lastRetentionAt >= RETENTION_EVERY_MS) this.applyRetention(now);
  }

  /** Closes the heads whose newest sample is older than `t`, then truncates the head-WAL below the oldest head. */
  private closeHeadsBefore(t: number): void {
    let keepFrom = this.walSeq + 1;
    for (const st of this.byId.values()) {
      if (!st.head) continue;
      if (st.head.maxT < t) this.closeHead(st);
      else if (st.headFirstSeq < keepFrom) keepFrom = st.headFirstSeq;
    }
    this.sql.truncateWal.run(keepFrom);
  }

  private applyRetention(now: number): void {
    this.lastRetentionAt = now;
    const rawCutoff = now - this.retention.rawMs;
    const rollMinutes = this.retention.minuteMs > this.retention.rawMs;
    // Heads past retention are closed first, so their samples reach the rollups before the raw chunk goes.
    this.closeHeadsBefore(rawCutoff);
    for (const st of this.byId.values()) {
      if (rollMinutes) this.rollExpiringMinutes(st, rawCutoff);
      this.sql.expireChunks.run(st.id, rawCutoff);
      this.sql.expireMinutes.run(st.id, now - this.retention.minuteMs);
      this.sql.expireHours.run(st.id, now - this.retention.hourMs - HOUR_MS + 1);
    }
    for (const row of this.sql.orphanSeries.all() as { id: number }[]) {
      const st = this.byId.get(row.id);
      if (st?.head) continue;
      this.sql.deleteSeries.run(row.id);
      if (!st) continue;
      st.live = false;
      this.byId.delete(st.id);
      this.dictionary.delete(st);
      this.postings.remove(st.id, st.labels);
    }
  }

  /**
   * Writes the 1-minute rollups of a series' chunks about to expire (ending before `cutoff`) as one row. Until
   * then the raw samples answer minute-step queries exactly, so a stored 1-minute rollup beside them would only
   * double the bytes on disk (10 s scrapes: 6 samples a bucket vs 5 rollup values). The first chunk's `prev_v`
   * (the value before it) keeps the first increase exact.
   */
  private rollExpiringMinutes(st: SeriesState, cutoff: number): void {
    const rows = this.sql.expiringChunks.all(st.id, cutoff) as ExpiringChunk[];
    if (rows.length === 0) return;
    const samples = mergeSamples(rows.map((row) => decodeChunk(row.data)));
    const prev = rows[0]!.prevV;
    const minutes = bucketize(samples, prev === null ? undefined : { t: -Infinity, v: prev }, MINUTE_MS);
    if (minutes.length === 0) return;
    const last = minutes[minutes.length - 1]!.start + MINUTE_MS - 1;
    this.sql.insertMinute.run(
      st.id,
      minutes[0]!.start,
      last,
      samples[samples.length - 1]!.t,
      encodeBuckets(minutes),
    );
  }

  private newSymbolTable(): SymbolTable {
    return new SymbolTable((id, text) => this.sql.insertSymbol.run(id, text));
  }

  // --- opening -------------------------------------------------------------------------------------------

  /** Rebuilds memory from the database: dictionary, index, closed-chunk ends, then the head from its WAL. */
  private load(): void {
    for (const st of this.byId.values()) st.live = false;
    this.dictionary = new SeriesDictionary();
    this.byId = new Map();
    this.postings = new Postings();
    this.newestT = -Infinity;
    this.symbols = this.newSymbolTable();
    for (const row of this.sql.allSymbols.iterate() as Iterable<{ id: number; text: string }>) {
      this.symbols.load(row.id, row.text);
    }
    for (const row of this.sql.allSeries.iterate() as Iterable<{ id: number; labels: Uint8Array }>) {
      this.register(new SeriesState(row.id, this.symbols.decode(row.labels)));
      if (row.id >= this.nextId) this.nextId = row.id + 1;
    }
    for (const row of this.sql.closedMaxT.iterate() as Iterable<{ id: number; maxT: number }>) {
      const st = this.byId.get(row.id);
      if (st) st.closedMaxT = row.maxT;
    }
    this.walSeq = 0;
    for (const row of this.sql.walRecords.all() as { seq: number; data: Uint8Array }[]) {
      this.walSeq = row.seq;
      forEachWalSample(row.data, (id, t, v) => {
        const st = this.byId.get(id);
        if (!st || t <= st.closedMaxT) return; // already closed (its chunk may have expired since)
        this.cutIfDue(st, t);
        st.insert(t, v, row.seq);
        if (t > this.newestT) this.newestT = t;
      });
    }
  }

  // --- reading -------------------------------------------------------------------------------------------

  private matching(matchers: readonly Matcher[], range: TimeRange): SeriesState[] {
    return this.postings
      .select(matchers)
      .map((id) => this.byId.get(id)!)
      .filter(
        (st) =>
          (st.head && st.head.maxT >= range.startMs && st.head.minT <= range.endMs) ||
          (this.sql.anyData.get(st.id, range.startMs, range.endMs) as { hit: number }).hit === 1,
      );
  }

  private rawSamples(st: SeriesState, startMs: number, endMs: number): Sample[] {
    return this.withHead(st, this.closedParts(st, startMs, endMs), startMs, endMs);
  }

  /** The closed chunks' samples inside the range, one list per chunk. */
  private closedParts(st: SeriesState, startMs: number, endMs: number): Sample[][] {
    const rows = this.sql.chunksInRange.all(st.id, startMs, endMs) as { data: Uint8Array }[];
    return rows.map((row) => decodeChunk(row.data, startMs, endMs));
  }

  /** rawSamples of many series with one query (a statement per series costs more than decoding its chunk). */
  private rawSamplesOf(states: readonly SeriesState[], startMs: number, endMs: number): Sample[][] {
    if (states.length < 2) return states.map((st) => this.rawSamples(st, startMs, endMs));
    const parts = new Map<number, Sample[][]>(states.map((st) => [st.id, []]));
    const ids = JSON.stringify(states.map((st) => st.id));
    for (const row of this.sql.chunksOfSeriesInRange.all(ids, startMs, endMs) as ChunkRow[]) {
      parts.get(row.id)!.push(decodeChunk(row.data, startMs, endMs));
    }
    return states.map((st) => this.withHead(st, parts.get(st.id)!, startMs, endMs));
  }

  private withHead(st: SeriesState, parts: Sample[][], startMs: number, endMs: number): Sample[] {
    if (st.head && st.head.maxT >= startMs && st.head.minT <= endMs) {
      parts.push(decodeChunk(st.head.bytes(), startMs, endMs));
    }
    return mergeSamples(parts);
  }

  /** Buckets of `width` starting in [fromMs, toMs]: stored rollups, and the raw samples' where they remain. */
  private buckets(st: SeriesState, width: number, fromMs: number, toMs: number): Bucket[] {
    if (width === MINUTE_MS) return this.minutes(st, fromMs, toMs);
    const hours = this.sql.hoursInRange.all(st.id, fromMs, toMs) as unknown as Bucket[];
    // From the last stored hour on (it may still be open), what minutes and raw hold now replaces the rows.
    const tailFrom = hours.length > 0 ? hours[hours.length - 1]!.start : fromMs;
    const tail = coarsen(this.minutes(st, tailFrom, toMs), HOUR_MS).filter((b) => b.start >= tailFrom);
    if (tail[0]?.start === tailFrom) hours.pop();
    return [...hours, ...tail];
  }

  /** Minute buckets: stored ones (of expired raw) merged with those of the raw samples (from one bucket before). */
  private minutes(st: SeriesState, fromMs: number, toMs: number): Bucket[] {
    const stored = this.storedMinutes(st, fromMs, toMs);
    const raw = bucketize(this.rawSamples(st, fromMs - MINUTE_MS, toMs), undefined, MINUTE_MS);
    return mergeBuckets([stored, raw.filter((b) => b.start >= fromMs)]);
  }

  private storedMinutes(st: SeriesState, fromMs: number, toMs: number): Bucket[] {
    const parts: Bucket[][] = [];
    for (const row of this.sql.minutesInRange.iterate(st.id, fromMs, toMs) as Iterable<{
      data: Uint8Array;
    }>) {
      parts.push(decodeBuckets(row.data));
    }
    return mergeBuckets(parts).filter((b) => b.start >= fromMs && b.start <= toMs);
  }

  private transaction(fn: () => void): void {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      fn();
      this.db.exec("COMMIT");
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageClosedError();
  }
}

export function openEmbeddedStore(options: EmbeddedStoreOptions): EmbeddedStore {
  return EmbeddedStore.open(options);
}

/** The rollup width a query may be answered from: 1 h or 1 min when its step allows and its function stays right. */
function rollupWidth(hints: SelectHints | undefined): number {
  const step = hints?.stepMs ?? 0;
  if (!rollupAnswers(hints?.func)) return 0;
  if (step >= HOUR_MS) return HOUR_MS;
  if (step >= MINUTE_MS) return MINUTE_MS;
  return 0;
}

/**
 * Rollup samples placed before a series' first raw sample. A counter's rollup view (rate, increase) is a running
 * total of increases from 0: shifted so it ends at the first raw value, the counter runs on across the seam
 * (the increase between the last bucket's end and the first raw sample is not counted). Levels stay as they are.
 */
function spliced(older: Sample[], raw: readonly Sample[], func: string | undefined): Sample[] {
  if (func !== "rate" && func !== "increase") return older;
  if (older.length === 0 || raw.length === 0) return older;
  const shift = raw[0]!.v - older[older.length - 1]!.v;
  return older.map((s) => ({ t: s.t, v: s.v + shift }));
}

function floorTo(t: number, width: number): number {
  return t - (((t % width) + width) % width);
}

/** Samples of several chunks, ascending, one per time (chunks may overlap: late ones). */
function mergeSamples(parts: Sample[][]): Sample[] {
  if (parts.length === 1) return parts[0]!;
  let ordered = true;
  for (let i = 1; i < parts.length && ordered; i++) {
    const prev = parts[i - 1]!;
    if (prev.length > 0 && parts[i]!.length > 0 && parts[i]![0]!.t <= prev[prev.length - 1]!.t)
      ordered = false;
  }
  // A loop, not parts.flat(): the 7-day range query merges ~500 chunks, and flat() was a fifth of its time.
  const all: Sample[] = [];
  for (const part of parts) for (const s of part) all.push(s);
  if (ordered) return all;
  all.sort((a, b) => a.t - b.t);
  return all.filter((s, i) => i === 0 || s.t !== all[i - 1]!.t);
}

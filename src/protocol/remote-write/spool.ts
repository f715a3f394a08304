/**
 * A bounded on-disk queue of batches, one per push target: every batch is appended (and fsync'd) before it is
 * sent and acknowledged away after the target answered 2xx, so a kill -9 of the agent loses no batch it had
 * queued; on start the unacknowledged ones are replayed in order.
 *
 * Layout: a directory of append-only segments `seg-<seq>.log` of records `[u32 length][u32 crc32][body]`, body
 * `[u8 kind][u32 samples][payload]`, and a `cursor` file naming the first unacknowledged record (segment and
 * offset). A crash can tear only the last record of the last segment: on open, a record whose length runs past
 * the file or whose CRC does not match is cut off with everything after it, never replayed as garbage. The
 * cursor is written without fsync: losing it resends acknowledged batches, which a target ignores as duplicates.
 * When a new batch would take the spool over its byte bound, the oldest batches are dropped (counted).
 */
import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";

const HEADER = 8;
const BODY_HEADER = 5;

/** What a record carries: a remote_write body or a JSON document, with its sample count for the metrics. */
export interface SpoolBatch {
  readonly kind: number;
  readonly samples: number;
  readonly payload: Uint8Array;
}

export interface SpooledBatch extends SpoolBatch {
  /** Increasing in queue order. */
  readonly id: number;
}

interface Entry {
  id: number;
  seg: number;
  offset: number;
  size: number;
  kind: number;
  samples: number;
}

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  /** Told about cut tails and dropped batches. */
  onProblem?: (message: string, fields: Record<string, unknown>) => void;
}

const segName = (seq: number) => `seg-${String(seq).padStart(12, "0")}.log`;

export class Spool {
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly onProblem: NonNullable<SpoolOptions["onProblem"]>;
  private readonly entries: Entry[] = [];
  private nextId = 0;
  private segSeq = 0;
  private segSize = 0;
  private fd: number | null = null;
  /** Bytes of the queued records (headers included). */
  bytes = 0;
  /** Batches dropped because the bound was hit, since open. */
  dropped = 0;

  constructor(opts: SpoolOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes;
    // Small enough that a fully acknowledged segment is deleted soon, large enough to keep files few.
    this.segmentBytes = Math.min(8 << 20, Math.max(64 << 10, Math.floor(opts.maxBytes / 16)));
    this.onProblem = opts.onProblem ?? (() => undefined);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.load();
  }

  /** Queued batches. */
  get batches(): number {
    return this.entries.length;
  }

  /** Appends a batch durably (fsync), dropping the oldest ones first if it would exceed the bound. */
  append(batch: SpoolBatch): number {
    const size = HEADER + BODY_HEADER + batch.payload.length;
    let dropped = 0;
    while (this.entries.length > 0 && this.bytes + size > this.maxBytes) {
      this.forget(this.entries[0]!);
      dropped++;
    }
    if (dropped > 0) {
      this.dropped += dropped;
      this.writeCursor();
      this.onProblem("push spool full: dropped the oldest batches", { dir: this.dir, dropped });
    }
    if (this.fd === null || this.segSize >= this.segmentBytes) this.roll();
    const rec = Buffer.allocUnsafe(size);
    rec.writeUInt32LE(BODY_HEADER + batch.payload.length, 0);
    rec.writeUInt8(batch.kind, HEADER);
    rec.writeUInt32LE(batch.samples, HEADER + 1);
    rec.set(batch.payload, HEADER + BODY_HEADER);
    rec.writeUInt32LE(crc32(rec.subarray(HEADER)), 4);
    writeSync(this.fd!, rec);
    fsyncSync(this.fd!);
    this.entries.push({
      id: this.nextId++,
      seg: this.segSeq,
      offset: this.segSize,
      size,
      kind: batch.kind,
      samples: batch.samples,
    });
    this.segSize += size;
    this.bytes += size;
    return dropped;
  }

  /** The oldest queued batch, read back from disk; null when the spool is empty. */
  peek(): SpooledBatch | null {
    const e = this.entries[0];
    if (!e) return null;
    const fd = openSync(join(this.dir, segName(e.seg)), "r");
    try {
      const buf = Buffer.allocUnsafe(e.size - HEADER - BODY_HEADER);
      readSync(fd, buf, 0, buf.length, e.offset + HEADER + BODY_HEADER);
      return { id: e.id, kind: e.kind, samples: e.samples, payload: buf };
    } finally {
      closeSync(fd);
    }
  }

  /** Removes batch `id` once its target took it; a batch dropped meanwhile (bound hit) is already gone. */
  ack(id: number): void {
    const e = this.entries[0];
    if (!e || e.id !== id) return;
    this.forget(e);
    this.writeCursor();
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private forget(e: Entry): void {
    this.entries.shift();
    this.bytes -= e.size;
    const next = this.entries[0];
    // Segments wholly behind the first queued record are done (the one being written stays).
    for (const seq of this.segments())
      if (seq < (next?.seg ?? this.segSeq) && seq !== this.segSeq) unlinkSync(join(this.dir, segName(seq)));
  }

  private writeCursor(): void {
    const e = this.entries[0];
    // Empty: past everything written; the next append goes to this segment's end, or to a new one.
    const at = e ? [e.seg, e.offset] : this.fd !== null ? [this.segSeq, this.segSize] : [this.segSeq + 1, 0];
    const text = `${at[0]} ${at[1]}\n`;
    const path = join(this.dir, "cursor");
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }

  private segments(): number[] {
    return readdirSync(this.dir)
      .map((f) => /^seg-(\d+)\.log$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  /** A new segment after the last; its directory entry is made durable with the directory's fsync. */
  private roll(): void {
    this.close();
    this.segSeq++;
    this.segSize = 0;
    this.fd = openSync(join(this.dir, segName(this.segSeq)), "a", 0o600);
    const dirFd = openSync(this.dir, "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }

  private load(): void {
    let cursor: [number, number] = [0, 0];
    try {
      const [seg, off] = readFileSync(join(this.dir, "cursor"), "utf8").trim().split(" ").map(Number);
      if (Number.isInteger(seg) && Number.isInteger(off)) cursor = [seg!, off!];
    } catch {
      // No cursor yet: everything in the segments is queued.
    }
    const segs = this.segments();
    for (const seq of segs) {
      const path = join(this.dir, segName(seq));
      if (seq < cursor[0]) {
        unlinkSync(path);
        continue;
      }
      const data = readFileSync(path);
      let off = 0;
      while (off < data.length) {
        const good = off + HEADER <= data.length && this.validRecord(data, off);
        if (!good) {
          this.onProblem("push spool: cut a torn or corrupt record and what follows it", {
            segment: segName(seq),
            offset: off,
            bytes: data.length - off,
          });
          const fd = openSync(path, "r+");
          try {
            ftruncateSync(fd, off);
            fsyncSync(fd);
          } finally {
            closeSync(fd);
          }
          break;
        }
        const size = HEADER + data.readUInt32LE(off);
        if (seq > cursor[0] || off >= cursor[1]) {
          this.entries.push({
            id: this.nextId++,
            seg: seq,
            offset: off,
            size,
            kind: data.readUInt8(off + HEADER),
            samples: data.readUInt32LE(off + HEADER + 1),
          });
          this.bytes += size;
        }
        off += size;
      }
    }
    // Appends go to a fresh segment: the last one may have been cut.
    this.segSeq = Math.max(segs.at(-1) ?? 0, cursor[0]);
  }

  private validRecord(data: Buffer, off: number): boolean {
    const len = data.readUInt32LE(off);
    if (len < BODY_HEADER || off + HEADER + len > data.length) return false;
    return crc32(data.subarray(off + HEADER, off + HEADER + len)) === data.readUInt32LE(off + 4);
  }
}

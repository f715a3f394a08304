import assert from "node:assert/strict";
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { Spool, type SpoolBatch } from "./spool.ts";

const batch = (n: number, size = 100): SpoolBatch => ({
  kind: 1,
  samples: n,
  payload: Buffer.alloc(size, n % 256),
});

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "kvmon-spool-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every queued batch's sample count, acknowledging as it goes. */
function drain(s: Spool): number[] {
  const out: number[] = [];
  for (let b = s.peek(); b; b = s.peek()) {
    out.push(b.samples);
    assert.ok(b.payload.every((x) => x === b.samples % 256));
    s.ack(b.id);
  }
  return out;
}

const segments = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".log"));

test("batches come back in order and survive a reopen until acknowledged", () =>
  withDir((dir) => {
    const s = new Spool({ dir, maxBytes: 1 << 20 });
    for (let i = 1; i <= 5; i++) s.append(batch(i));
    const first = s.peek()!;
    assert.equal(first.samples, 1);
    s.ack(first.id);
    s.ack(first.id); // a second ack of the same batch changes nothing
    assert.equal(s.batches, 4);
    s.close();
    const again = new Spool({ dir, maxBytes: 1 << 20 });
    assert.equal(again.batches, 4);
    assert.equal(again.bytes, 4 * (100 + 13));
    again.append(batch(6));
    assert.deepEqual(drain(again), [2, 3, 4, 5, 6]);
    again.close();
    const empty = new Spool({ dir, maxBytes: 1 << 20 });
    assert.equal(empty.batches, 0);
    assert.equal(empty.bytes, 0);
    empty.close();
  }));

test("acknowledged segments are deleted; the directory does not grow", () =>
  withDir((dir) => {
    const s = new Spool({ dir, maxBytes: 1 << 20 }); // 64 KiB segments
    for (let i = 0; i < 200; i++) {
      s.append(batch(i, 4096));
      if (i % 2 === 1) drain(s);
    }
    assert.ok(segments(dir).length <= 2, segments(dir).join());
    s.close();
  }));

test("a torn tail record is cut on open, never replayed as garbage", () =>
  withDir((dir) => {
    const s = new Spool({ dir, maxBytes: 1 << 20 });
    for (let i = 1; i <= 3; i++) s.append(batch(i));
    s.close();
    const seg = join(dir, segments(dir).at(-1)!);
    const good = statSync(seg).size;
    // A record whose header promises 100 bytes, of which 10 were written before the crash.
    const torn = Buffer.alloc(18);
    torn.writeUInt32LE(100, 0);
    appendFileSync(seg, torn);
    const problems: string[] = [];
    const again = new Spool({ dir, maxBytes: 1 << 20, onProblem: (m) => problems.push(m) });
    assert.equal(statSync(seg).size, good);
    assert.equal(problems.length, 1);
    assert.deepEqual(drain(again), [1, 2, 3]);
    again.close();
  }));

test("a record with a bad CRC is cut with what follows it", () =>
  withDir((dir) => {
    const s = new Spool({ dir, maxBytes: 1 << 20 });
    for (let i = 1; i <= 3; i++) s.append(batch(i));
    s.close();
    const seg = join(dir, segments(dir)[0]!);
    const data = readFileSync(seg);
    data.writeUInt8(data.readUInt8(113 + 50) ^ 0xff, 113 + 50); // inside the second record's payload
    writeFileSync(seg, data);
    const problems: string[] = [];
    const again = new Spool({ dir, maxBytes: 1 << 20, onProblem: (m) => problems.push(m) });
    assert.deepEqual(drain(again), [1]);
    assert.equal(problems.length, 1);
    again.close();
  }));

test("at the byte bound the oldest batches are dropped, counted, and the rest kept in order", () =>
  withDir((dir) => {
    const problems: Record<string, unknown>[] = [];
    // Room for 10 batches of 113 bytes.
    const s = new Spool({ dir, maxBytes: 1130, onProblem: (_, f) => problems.push(f) });
    for (let i = 1; i <= 25; i++) s.append(batch(i));
    assert.equal(s.dropped, 15);
    assert.equal(s.batches, 10);
    assert.ok(s.bytes <= 1130);
    assert.equal(problems.length, 15);
    s.close();
    const again = new Spool({ dir, maxBytes: 1130 });
    assert.deepEqual(drain(again), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    again.close();
  }));

test("dropping at the bound across rolled segments keeps exactly the newest batches, on disk and after a reopen", () =>
  withDir((dir) => {
    // 64 KiB segments, room for 25 batches of 10 KiB: drops cross segment boundaries and delete old segments.
    const size = 10 * 1024;
    const maxBytes = 25 * (size + 13);
    const s = new Spool({ dir, maxBytes });
    let dropped = 0;
    for (let i = 1; i <= 100; i++) {
      dropped += s.append(batch(i, size));
      // Acknowledge one now and then, as a sender that gets a batch through between failures.
      if (i % 30 === 0) s.ack(s.peek()!.id);
    }
    assert.equal(dropped, s.dropped);
    assert.equal(s.batches, 25);
    assert.equal(s.bytes, 25 * (size + 13));
    assert.equal(dropped + 3 + s.batches, 100, "every batch is queued, acknowledged or dropped");
    const onDisk = readdirSync(dir).filter((f) => f.startsWith("seg-"));
    assert.ok(onDisk.length <= 6, `old segments deleted: ${onDisk.join(" ")}`);
    s.close();
    const again = new Spool({ dir, maxBytes });
    assert.deepEqual(
      drain(again),
      Array.from({ length: 25 }, (_, i) => 76 + i),
    );
    again.close();
  }));

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import test from "node:test";
import { decodeWrite, encodeWrite, sortedLabels } from "./index.ts";
import { BatchKind, batchUrl, parseRetryAfter, Sender, SenderStats, type SenderTarget } from "./sender.ts";
import { Spool } from "./spool.ts";

interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
  at: number;
}

/** A target on a real socket answering from `respond` (status, headers); records every request. */
async function target(
  respond: (r: Received, n: number) => [number, Record<string, string>?] | null,
  port = 0,
): Promise<{ server: Server; url: string; port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
      received.push(r);
      const answer = respond(r, received.length);
      if (answer === null) return; // hang: the sender's timeout must fire
      res.writeHead(answer[0], answer[1]).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const p = (server.address() as AddressInfo).port;
  return { server, url: `http://127.0.0.1:${p}/api/v1/write`, port: p, received };
}

const close = (s: Server) =>
  new Promise<void>((resolve) => {
    s.closeAllConnections();
    s.close(() => resolve());
  });

/** A batch of one series whose sample value is `n`. */
const batch = (n: number) => ({
  kind: BatchKind.write,
  samples: 1,
  payload: encodeWrite([
    { labels: sortedLabels({ __name__: "seq", host: "h" }), samples: [{ value: n, timestamp: 1000 + n }] },
  ]),
});
const valueOf = (r: Received) => decodeWrite(r.body, 1 << 20)[0]!.samples[0]!.value;

function sender(url: string, overrides: Partial<SenderTarget> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "kvmon-sender-"));
  const spool = new Spool({ dir, maxBytes: 1 << 20 });
  const stats = new SenderStats();
  const reports: string[] = [];
  const s = new Sender({
    target: { name: "t", url, kind: "remote-write", token: null, timeoutMs: 2000, ...overrides },
    spool,
    stats,
    events: {
      failing: (reason) => reports.push(`failing ${reason}`),
      succeeded: () => reports.push("succeeded"),
      rejected: (samples, detail) => reports.push(`rejected ${samples}: ${detail.slice(0, 8)}`),
      spoolError: () => reports.push("spool error"),
    },
    backoff: { minMs: 20, maxMs: 200 },
  });
  const cleanup = async () => {
    await s.stop();
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { s, spool, stats, reports, cleanup };
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test("the four remote_write headers, the bearer token, and the body as spooled", async () => {
  const t = await target(() => [204]);
  const { s, spool, stats, cleanup } = sender(t.url, { token: "secret-token-0123456789" });
  try {
    spool.append(batch(7));
    s.start();
    s.notify();
    await until(() => stats.sentBatches === 1, "the batch");
    const h = t.received[0]!.headers;
    assert.equal(h["content-encoding"], "snappy");
    assert.equal(h["content-type"], "application/x-protobuf");
    assert.equal(h["x-prometheus-remote-write-version"], "0.1.0");
    assert.match(h["user-agent"] ?? "", /^kvmon-agent/);
    assert.equal(h.authorization, "Bearer secret-token-0123456789");
    assert.equal(valueOf(t.received[0]!), 7);
    assert.equal(spool.batches, 0);
    assert.ok(stats.lastSuccessAt !== null);
  } finally {
    await cleanup();
    await close(t.server);
  }
});

test("target down, then back: every batch arrives once, in order, counted exactly", async () => {
  // Take a free port, then leave it closed: connection refused until the target starts on it.
  const probe = await target(() => [204]);
  const port = probe.port;
  await close(probe.server);
  const { s, spool, stats, cleanup } = sender(`http://127.0.0.1:${port}/api/v1/write`);
  let t: Awaited<ReturnType<typeof target>> | null = null;
  try {
    s.start();
    for (let i = 1; i <= 30; i++) {
      spool.append(batch(i));
      s.notify();
      if (i % 10 === 0) await sleep(50);
    }
    await until(() => (stats.failures.get("network") ?? 0) >= 3, "retries while down");
    assert.equal(stats.sentBatches, 0);
    assert.equal(spool.batches, 30);
    t = await target(() => [204], port);
    await until(() => stats.sentBatches === 30, "the backlog");
    assert.deepEqual(
      t.received.map(valueOf),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.equal(stats.sentSamples, 30);
    assert.equal(spool.batches, 0);
    assert.equal(spool.bytes, 0);
  } finally {
    await cleanup();
    if (t) await close(t.server);
  }
});

test("500 and 429 are retried (Retry-After honoured), 400 is dropped and counted, order kept", async () => {
  // Batch 1: 500, then 429 with Retry-After: 1, then 204. Batch 2: 400. Batch 3: 204.
  const answers: [number, Record<string, string>?][] = [
    [500],
    [429, { "retry-after": "1" }],
    [204],
    [400],
    [204],
  ];
  const t = await target((_, n) => answers[n - 1] ?? [204]);
  const { s, spool, stats, reports, cleanup } = sender(t.url);
  try {
    for (const i of [1, 2, 3]) spool.append(batch(i));
    s.start();
    await until(() => stats.sentBatches === 2, "batches 1 and 3");
    assert.deepEqual(t.received.map(valueOf), [1, 1, 1, 2, 3]);
    assert.ok(t.received[2]!.at - t.received[1]!.at >= 950, "waited out Retry-After: 1");
    assert.deepEqual(Object.fromEntries(stats.failures), { http_5xx: 1, http_429: 1, http_4xx: 1 });
    assert.deepEqual(Object.fromEntries(stats.dropped), { rejected: 1 });
    assert.deepEqual(reports, [
      "failing http_5xx",
      "failing http_429",
      "succeeded",
      "rejected 1: HTTP 400",
      "succeeded",
    ]);
    assert.equal(stats.sentSamples, 2);
    assert.equal(spool.batches, 0);
  } finally {
    await cleanup();
    await close(t.server);
  }
});

test("a target that never answers times out and is retried", async () => {
  const t = await target((_, n) => (n === 1 ? null : [204]));
  const { s, spool, stats, cleanup } = sender(t.url, { timeoutMs: 200 });
  try {
    spool.append(batch(1));
    s.start();
    await until(() => stats.sentBatches === 1, "the retry");
    assert.equal(stats.failures.get("timeout"), 1);
    assert.equal(t.received.length, 2);
  } finally {
    await cleanup();
    await close(t.server);
  }
});

test("a kvmon target gets writes on /api/v1/write and snapshots as JSON on /api/v1/push/snapshot", async () => {
  const t = await target(() => [204]);
  const base = t.url.replace("/api/v1/write", "");
  const { s, spool, stats, cleanup } = sender(base, { kind: "kvmon" });
  try {
    spool.append(batch(1));
    spool.append({ kind: BatchKind.snapshot, samples: 0, payload: Buffer.from('{"schemaVersion":1}') });
    s.start();
    await until(() => stats.sentBatches === 2, "both");
    assert.deepEqual(
      t.received.map((r) => [r.path, r.headers["content-type"]]),
      [
        ["/api/v1/write", "application/x-protobuf"],
        ["/api/v1/push/snapshot", "application/json"],
      ],
    );
    assert.equal(t.received[1]!.body.toString(), '{"schemaVersion":1}');
  } finally {
    await cleanup();
    await close(t.server);
  }
});

test("batchUrl and parseRetryAfter", () => {
  const kvmon: SenderTarget = {
    name: "s",
    url: "https://s:8443/base",
    kind: "kvmon",
    token: null,
    timeoutMs: 1,
  };
  assert.equal(batchUrl(kvmon, BatchKind.write), "https://s:8443/base/api/v1/write");
  assert.equal(batchUrl(kvmon, BatchKind.snapshot), "https://s:8443/base/api/v1/push/snapshot");
  assert.equal(batchUrl(kvmon, BatchKind.events), "https://s:8443/base/api/v1/push/events");
  assert.equal(
    batchUrl({ ...kvmon, kind: "remote-write", url: "http://vm/api/v1/write" }, BatchKind.write),
    "http://vm/api/v1/write",
  );
  assert.equal(parseRetryAfter("3", 0), 3000);
  assert.equal(parseRetryAfter("999999", 0), 300_000);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
  assert.equal(parseRetryAfter("soon", 0), null);
  assert.equal(parseRetryAfter(null, 0), null);
});

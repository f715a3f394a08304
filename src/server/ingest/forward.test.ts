import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import test from "node:test";
import { Hono } from "hono";
import {
  decodeWrite,
  encodeWrite,
  REMOTE_WRITE_HEADERS,
  sortedLabels,
  type TimeSeries,
} from "../../protocol/remote-write/index.ts";
import type { SeriesStore } from "../storage/types.ts";
import { ForwardedStore } from "../storage/forwarded.ts";
import { Forwarder, ForwardSpoolError } from "./forward.ts";
import { type Principal, writeRoutes } from "./routes.ts";

/** A remote_write target on a socket that records the decoded series it takes. */
async function captureTarget(port = 0): Promise<{ server: Server; port: number; got: TimeSeries[][] }> {
  const got: TimeSeries[][] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      got.push(decodeWrite(Buffer.concat(chunks), 1 << 24));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, got };
}

const close = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()));

const series = (name: string, t: number): TimeSeries => ({
  labels: sortedLabels({ __name__: name, host: "h1" }),
  samples: [{ value: t / 1000, timestamp: t }],
});

test("ingested series are forwarded in order; a target down meanwhile gets them from its spool", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kvmon-forward-"));
  const first = await captureTarget();
  const port = first.port;
  await close(first.server); // down at first
  const logs: string[] = [];
  const forwarder = new Forwarder(
    [
      {
        name: "vm",
        url: `http://127.0.0.1:${port}/api/v1/write`,
        token: null,
        timeoutMs: 1000,
        spoolDir: dir,
        spoolMaxBytes: 1 << 20,
      },
    ],
    (_, message) => logs.push(message),
  );
  forwarder.start();
  const app = new Hono<{ Variables: { principal?: Principal } }>();
  app.use(async (c, next) => {
    c.set("principal", { kind: "host", host: "h1" });
    await next();
  });
  const store = { append: () => Promise.resolve() } as unknown as SeriesStore;
  app.route("/", writeRoutes({ store, forwarder }));
  let target: Awaited<ReturnType<typeof captureTarget>> | null = null;
  try {
    const sent = [1000, 2000, 3000].map((t) => [series("a", t), series("b", t)]);
    for (const batch of sent) {
      const res = await app.request("/api/v1/write", {
        method: "POST",
        body: encodeWrite(batch),
        headers: { ...REMOTE_WRITE_HEADERS, "User-Agent": "t" },
      });
      assert.equal(res.status, 204);
    }
    // Acknowledged while the target is down: the batches are in the spool.
    assert.equal(forwarder.status()[0]!.spoolBatches, 3);
    target = await captureTarget(port);
    for (let i = 0; i < 100 && target.got.length < 3; i++) await sleep(100);
    assert.deepEqual(target.got, sent);
    assert.equal(forwarder.status()[0]!.stats.sentSamples, 6);
    assert.ok(logs.includes("forwarding failing; batches wait in the spool"), logs.join());
    assert.ok(logs.includes("forwarding works again"), logs.join());
  } finally {
    await forwarder.stop();
    if (target) await close(target.server);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a forward spool that cannot be written fails the ingest request (500, the agent retries), not acknowledged", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kvmon-forward-"));
  const target = await captureTarget();
  const forwarder = new Forwarder(
    ["good", "broken"].map((name) => ({
      name,
      url: `http://127.0.0.1:${target.port}/api/v1/write`,
      token: null,
      timeoutMs: 1000,
      spoolDir: join(dir, name),
      spoolMaxBytes: 1 << 20,
    })),
    () => undefined,
  );
  // Unwritable: a file where the spool's directory was (chmod would not stop root, who runs these tests).
  rmSync(join(dir, "broken"), { recursive: true });
  writeFileSync(join(dir, "broken"), "");
  const app = new Hono<{ Variables: { principal?: Principal } }>();
  app.use(async (c, next) => {
    c.set("principal", { kind: "host", host: "h1" });
    await next();
  });
  let stored = 0;
  const store = { append: () => Promise.resolve(void stored++) } as unknown as SeriesStore;
  app.route("/", writeRoutes({ store, forwarder }));
  const write = (t: number) =>
    app.request("/api/v1/write", {
      method: "POST",
      body: encodeWrite([series("a", t)]),
      headers: { ...REMOTE_WRITE_HEADERS, "User-Agent": "t" },
    });
  try {
    const refused = await write(1000);
    assert.equal(refused.status, 500);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "FORWARD_SPOOL_FAILED");
    assert.match(body.error.message, /broken/);
    assert.equal(forwarder.status()[0]!.spoolBatches + forwarder.status()[0]!.stats.sentBatches, 1);
    assert.equal(forwarder.status()[1]!.spoolBatches, 0);
    assert.equal(forwarder.status()[1]!.stats.dropped.get("spool_error"), undefined, "not dropped: retried");
    // The disk is fixed: the agent's retry is taken by both.
    rmSync(join(dir, "broken"));
    mkdirSync(join(dir, "broken"));
    assert.equal((await write(1000)).status, 204);
    forwarder.start();
    for (let i = 0; i < 100 && target.got.length < 3; i++) await sleep(100);
    assert.equal(target.got.length, 3, "good: the first write and its retry; broken: the retry");
    assert.equal(stored, 2);
    // Storage = a TSDB URL: the store's append is the forward, and it fails the same way.
    const broken = join(dir, "store-spool");
    const viaStore = new ForwardedStore(
      { close: () => Promise.resolve() } as unknown as SeriesStore,
      new Forwarder(
        [
          {
            name: "tsdb",
            url: `http://127.0.0.1:${target.port}/api/v1/write`,
            token: null,
            timeoutMs: 1000,
            spoolDir: broken,
            spoolMaxBytes: 1 << 20,
          },
        ],
        () => undefined,
      ),
    );
    rmSync(broken, { recursive: true });
    writeFileSync(broken, "");
    await assert.rejects(
      viaStore.append([{ labels: { __name__: "a", host: "h1" }, samples: [{ t: 2000, v: 2 }] }]),
      ForwardSpoolError,
    );
    await viaStore.close();
  } finally {
    await forwarder.stop();
    await close(target.server);
    rmSync(dir, { recursive: true, force: true });
  }
});

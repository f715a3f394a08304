import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Hono } from "hono";
import {
  encodeWrite,
  REMOTE_WRITE_HEADERS,
  sortedLabels,
  type TimeSeries,
} from "../protocol/remote-write/index.ts";
import { Logger } from "../shared/logger.ts";
import { Forwarder } from "./ingest/forward.ts";
import { writeRoutes } from "./ingest/routes.ts";
import { forwardMetrics, REJECT_LOG_INTERVAL_MS, ServerMetrics, serverMetrics } from "./metrics.ts";
import { MemoryStore } from "./storage/testing/memory-store.ts";
import { serverFixture } from "./testing/server-fixture.ts";

let clock = 1_000_000;
const logs: Record<string, unknown>[] = [];
const metrics = new ServerMetrics({
  logger: new Logger((l) => logs.push(JSON.parse(l) as Record<string, unknown>), "info"),
  now: () => clock,
});
const routes = writeRoutes({
  store: new MemoryStore(),
  limits: { maxSeriesPerHost: 2 },
  ...metrics.ingestHooks(),
});
const f = serverFixture({
  mounts: [{ prefix: "", access: "host", summary: "remote_write", routes: routes as unknown as Hono }],
  metrics,
});
after(() => f.close());

const series = (name: string): TimeSeries => ({
  labels: sortedLabels({ __name__: name, host: "h1" }),
  samples: [
    { value: 1, timestamp: Date.now() - 1000 },
    { value: 2, timestamp: Date.now() },
  ],
});

const write = (body: Uint8Array) =>
  f.app.request("/api/v1/write", {
    method: "POST",
    body,
    headers: { ...REMOTE_WRITE_HEADERS, authorization: `Bearer ${f.tokens.host}` },
  });

async function scrape(): Promise<string> {
  const res = await f.call("GET", "/metrics", { token: f.tokens.viewer });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one series, by its exact label text; undefined when absent. */
function value(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

test("an accepted batch, a malformed body and a series-limit refusal move their own counters", async () => {
  assert.equal((await write(encodeWrite([series("a")]))).status, 204);
  let text = await scrape();
  assert.equal(value(text, "kvmon_server_ingest_requests_total", 'host="h1"'), 1);
  assert.equal(value(text, "kvmon_server_ingest_series_total", 'host="h1"'), 1);
  assert.equal(value(text, "kvmon_server_ingest_samples_total", 'host="h1"'), 2);
  assert.doesNotMatch(text, /kvmon_server_ingest_rejected_requests_total/);

  assert.equal((await write(new Uint8Array([1, 2, 3, 4]))).status, 400);
  text = await scrape();
  assert.equal(value(text, "kvmon_server_ingest_rejected_requests_total", 'reason="malformed",host="h1"'), 1);
  assert.equal(value(text, "kvmon_server_ingest_requests_total", 'host="h1"'), 1);

  // The limit is 2 series: "a" is known, "b" fits, "c" and "d" are refused; "a" and "b" are stored.
  const res = await write(encodeWrite([series("a"), series("b"), series("c"), series("d")]));
  assert.equal(res.status, 400);
  text = await scrape();
  assert.equal(value(text, "kvmon_server_ingest_requests_total", 'host="h1"'), 2);
  assert.equal(value(text, "kvmon_server_ingest_series_total", 'host="h1"'), 3);
  assert.equal(value(text, "kvmon_server_ingest_samples_total", 'host="h1"'), 6);
  assert.equal(
    value(text, "kvmon_server_ingest_rejected_requests_total", 'reason="series_limit",host="h1"'),
    1,
  );
  assert.equal(value(text, "kvmon_server_series_limit_refused_series_total", 'host="h1"'), 2);
  assert.equal(value(text, "kvmon_server_ingest_rejected_requests_total", 'reason="malformed",host="h1"'), 1);
  // The process's own families are there too.
  assert.match(text, /^process_resident_memory_bytes \d+$/m);
});

test("the exposition parses: HELP and TYPE once per family, then its samples", async () => {
  const text = await scrape();
  const typed = new Set<string>();
  let family = "";
  for (const line of text.trimEnd().split("\n")) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === "TYPE") {
        assert.ok(!typed.has(meta[2]!), `${meta[2]} typed twice`);
        assert.match(meta[3]!, /^(counter|gauge)$/);
        typed.add(meta[2]!);
      }
      family = meta[2]!;
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_]\w*="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    assert.equal(m[1], family, `${line} outside its family`);
    assert.ok(!Number.isNaN(Number(m[3])), line);
  }
  assert.ok(typed.has("kvmon_server_ingest_requests_total"));
});

test("/metrics needs a viewer token", async () => {
  assert.equal((await f.call("GET", "/metrics")).status, 401);
  assert.equal((await f.call("GET", "/metrics", { token: f.tokens.host })).status, 403);
});

test("a rejection reason is logged once per host a minute, then with the count in between", () => {
  const m = new ServerMetrics({
    logger: new Logger((l) => logs.push(JSON.parse(l) as Record<string, unknown>), "info"),
    now: () => clock,
  });
  logs.length = 0;
  const { onReject } = m.ingestHooks();
  const h1 = { kind: "host", host: "h1" } as const;
  for (let i = 0; i < 50; i++) onReject("invalid", 1, h1);
  onReject("invalid", 1, { kind: "host", host: "h2" });
  onReject("too_large", 1, h1);
  assert.deepEqual(
    logs.map((l) => [l.reason, l.host]),
    [
      ["invalid", "h1"],
      ["invalid", "h2"],
      ["too_large", "h1"],
    ],
  );
  clock += REJECT_LOG_INTERVAL_MS;
  onReject("invalid", 1, h1);
  assert.equal(logs.length, 4);
  assert.equal(logs[3]!.refusedSinceLastLog, 49);
  assert.match(m.render(), /^kvmon_server_ingest_rejected_requests_total\{reason="invalid",host="h1"\} 51$/m);
});

test("forward targets show their spool depth and sender counters", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kvmon-server-metrics-"));
  const forwarder = new Forwarder(
    [
      {
        name: "vm",
        url: "http://127.0.0.1:9/api/v1/write",
        token: null,
        timeoutMs: 1000,
        spoolDir: dir,
        spoolMaxBytes: 1 << 20,
      },
    ],
    () => undefined,
  );
  try {
    const m = new ServerMetrics();
    m.watch(forwarder);
    forwarder.forward([series("a")]); // not started: the batch waits in the spool
    const text = m.render();
    assert.equal(value(text, "kvmon_server_forward_spool_batches", 'target="vm"'), 1);
    assert.ok(value(text, "kvmon_server_forward_spool_bytes", 'target="vm"')! > 0);
    assert.equal(value(text, "kvmon_server_forward_sent_samples_total", 'target="vm"'), 0);
    assert.equal(
      value(text, "kvmon_server_forward_dropped_batches_total", 'target="vm",reason="spool_full"'),
      0,
    );
  } finally {
    await forwarder.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("docs/server.md documents every server metric", () => {
  const doc = readFileSync(new URL("../../docs/server.md", import.meta.url), "utf8");
  const missing = [...Object.values(serverMetrics), ...Object.values(forwardMetrics)]
    .map((m) => m.name)
    .filter((n) => !doc.includes(`\`${n}\``));
  assert.deepEqual(missing, []);
});

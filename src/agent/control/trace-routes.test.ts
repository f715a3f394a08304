/**
 * The tracer's endpoints through the whole hono app: token and audit on the switch, the error paths (no
 * tracer, no tracefs, a bad body, a domain never traced), open reads. Tracing itself runs on the real tracefs
 * (test/integration/tracer.test.ts).
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Tracer } from "../../tracer/index.ts";
import { createApp } from "../http.ts";
import { Logger } from "../log.ts";
import { testAgent } from "../testing/setup.ts";
import { AuditLog, type AuditRecord } from "./audit.ts";
import { scriptedChannel, TEST_TOKEN, testDeps } from "./testing.ts";

const dir = await mkdtemp(join(tmpdir(), "kvmon-trace-routes-"));
after(() => rm(dir, { recursive: true, force: true }));

/** A tracer whose tracefs does not exist: switching on fails with TRACEFS_UNAVAILABLE. */
const noTracefs = () =>
  new Tracer({
    maxDurationSeconds: 60,
    ringSize: 16,
    bufferKb: 64,
    tracefsRoot: join(dir, "no-tracefs"),
    paths: { runDir: join(dir, "run"), procRoot: join(dir, "proc") },
  });

const channel = scriptedChannel(() => ({}));
const auth = { authorization: `Bearer ${TEST_TOKEN}` };
const json = { "content-type": "application/json" };

async function error(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

test("switching needs the token; reads do not; without a tracer every endpoint answers 503", async () => {
  const app = createApp(testAgent().agent, { control: testDeps(channel), tracer: null });
  const on = await app.request("/api/v1/trace", { method: "POST", headers: json, body: '{"all":true}' });
  assert.equal(on.status, 401);
  const off = await app.request("/api/v1/trace/vm", { method: "DELETE" });
  assert.equal(off.status, 401);
  const status = await app.request("/api/v1/trace");
  assert.equal(status.status, 503);
  assert.equal((await error(status)).code, "TRACER_UNAVAILABLE");
  const disabled = createApp(testAgent().agent, { tracer: noTracefs() });
  const r = await disabled.request("/api/v1/trace", { method: "DELETE", headers: auth });
  assert.equal((await error(r)).code, "CONTROL_DISABLED");
});

test("bad bodies are 400 naming the field; a missing tracefs is 503 with its own code; audited", async () => {
  const audit = new AuditLog({ path: join(dir, "audit.log"), logger: new Logger(() => undefined) });
  const app = createApp(testAgent().agent, { control: testDeps(channel, { audit }), tracer: noTracefs() });
  const post = (body: unknown) =>
    app.request("/api/v1/trace", {
      method: "POST",
      headers: { ...auth, ...json },
      body: JSON.stringify(body),
    });
  for (const body of [
    {},
    { all: true, domains: ["a"] },
    { all: true, events: ["a b"] },
    { all: true, durationSeconds: 0 },
  ]) {
    const r = await post(body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal((await error(r)).code, "BAD_REQUEST");
  }
  const r = await post({ domains: ["vm"], durationSeconds: 5 });
  assert.equal(r.status, 404, "a domain that does not run here");
  assert.equal((await error(r)).code, "TRACER_DOMAIN");
  const all = await post({ all: true });
  assert.equal(all.status, 503);
  assert.equal((await error(all)).code, "TRACEFS_UNAVAILABLE");
  await audit.close();
  const records = (await readFile(join(dir, "audit.log"), "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);
  const last = records.at(-1)!;
  assert.deepEqual(
    [last.action, last.guest, last.outcome, last.code],
    ["trace-on", "all", "error", "TRACEFS_UNAVAILABLE"],
  );
});

test("status is open; counts and events of a domain never traced are 404; a bad limit is 400", async () => {
  const app = createApp(testAgent().agent, { control: testDeps(channel), tracer: noTracefs() });
  const status = await app.request("/api/v1/trace");
  assert.equal(status.status, 200);
  assert.deepEqual(((await status.json()) as { on: boolean; events: string[] }).on, false);
  assert.equal((await error(await app.request("/api/v1/trace/vm/counts"))).code, "NOT_TRACED");
  assert.equal((await app.request("/api/v1/trace/vm/events?limit=10")).status, 404);
  assert.equal((await app.request("/api/v1/trace/vm/events?limit=0")).status, 400);
});

test("docs/agent.md lists every kvmon_trace_* metric", async () => {
  const { traceMetrics } = await import("../../tracer/metrics.ts");
  const doc = await readFile(new URL("../../../docs/agent.md", import.meta.url), "utf8");
  assert.deepEqual(
    Object.values(traceMetrics)
      .map((m) => m.name)
      .filter((n) => !doc.includes(`\`${n}\``)),
    [],
  );
});

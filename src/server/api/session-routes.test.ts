/**
 * GET /api/v1/session and the dashboard's API client (src/api) against the real app: the client's typed calls
 * answer what the routes answer, the server's error codes arrive as ApiError, a dead server is
 * ApiUnreachableError and a slow one a TimeoutError.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { ApiClient } from "../../api/client.ts";
import { ApiError, ApiUnreachableError } from "../../api/errors.ts";
import { TimeoutError } from "../../shared/errors.ts";
import { goldenSnapshot, serverFixture } from "../testing/server-fixture.ts";

const f = serverFixture();
after(() => f.close());

const client = (token: string, timeoutMs?: number) =>
  new ApiClient({
    baseUrl: "http://kvmon.test",
    token,
    timeoutMs,
    fetch: (input, init) => Promise.resolve(f.app.request(String(input), init)),
  });

test("session names the caller's role; a host token has none", async () => {
  assert.deepEqual(await client(f.tokens.operator).session(), { name: "otto", role: "operator" });
  assert.deepEqual(await client(f.tokens.admin).session(), { name: "ada", role: "admin" });
  await assert.rejects(client(f.tokens.host).session(), (e) => e instanceof ApiError && e.status === 403);
  await assert.rejects(
    client("kvmon_nope").session(),
    (e) => e instanceof ApiError && e.status === 401 && e.code === "UNAUTHENTICATED",
  );
});

test("the client's reads: hosts, domains (sorted, filtered), one domain, series, events; errors by code", async () => {
  const snap = goldenSnapshot();
  const res = await f.call("POST", "/api/v1/push/snapshot", { token: f.tokens.host, body: snap });
  assert.equal(res.status, 204);
  const c = client(f.tokens.viewer);
  const { hosts } = await c.hosts();
  assert.deepEqual(
    hosts.map((h) => [h.name, h.domains]),
    [["h1", snap.domains.length]],
  );
  const page = await c.domains({ sort: "-memory.currentBytes", limit: 2 });
  assert.equal(page.total, snap.domains.length);
  const bySize = snap.domains
    .filter((d) => d.memory)
    .sort((a, b) => b.memory!.currentBytes - a.memory!.currentBytes)
    .slice(0, 2)
    .map((d) => d.name);
  assert.deepEqual(
    page.domains.map((d) => d.name),
    bySize,
  );
  const first = snap.domains[0]!;
  const view = await c.domain("h1", first.name);
  assert.equal(view.host.uuid, first.uuid);
  assert.equal(view.hostName, "h1");
  await f.store.append([{ labels: { __name__: "m", domain: first.name }, samples: [{ t: 1000_000, v: 7 }] }]);
  const range = await c.series({
    metric: "m",
    match: [`domain=${first.name}`],
    start: 900,
    end: 1100,
    step: 10,
  });
  assert.deepEqual(range.series[0]?.points, [[1000, 7]]);
  assert.deepEqual((await c.events({ limit: 5 })).events, []);
  await assert.rejects(
    c.domains({ sort: "colour" }),
    (e) =>
      e instanceof ApiError && e.status === 400 && e.code === "BAD_REQUEST" && /query\.sort/.test(e.message),
  );
  await assert.rejects(
    c.domain("h1", "no-such-vm"),
    (e) => e instanceof ApiError && e.code === "DOMAIN_NOT_FOUND",
  );
  await assert.rejects(c.audit(), (e) => e instanceof ApiError && e.code === "FORBIDDEN");
  assert.ok(Array.isArray((await client(f.tokens.admin).audit({ limit: 1 })).records));
});

test("no server: ApiUnreachableError; a server slower than the deadline: TimeoutError", async () => {
  const dead = new ApiClient({ baseUrl: "http://127.0.0.1:1", token: "t", timeoutMs: 2000 });
  await assert.rejects(dead.hosts(), (e) => e instanceof ApiUnreachableError && e.code === "API_UNREACHABLE");
  const slow = new ApiClient({
    baseUrl: "http://kvmon.test",
    token: "t",
    timeoutMs: 50,
    fetch: (_input, init) =>
      new Promise((_resolve, reject) =>
        init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)),
      ),
  });
  await assert.rejects(slow.hosts(), (e) => e instanceof TimeoutError && e.timeoutMs === 50);
});

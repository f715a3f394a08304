/**
 * The auth proof: every route registered in the app (hono's own list, mounted sub-apps included) has a declared
 * access in the route table, and each refuses a missing token and a wrong token (401) and too weak a token
 * (403), and lets the right one through. Only /healthz and the OpenAPI document are public.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Hono } from "hono";
import { type Mount, mountedRoutes } from "../app.ts";
import { serverFixture } from "../testing/server-fixture.ts";
import type { Access } from "./types.ts";

// Shaped like the other parts' route modules: full paths at the root, and paths below a prefix.
const write = new Hono().post("/api/v1/write", (c) => c.body(null, 204));
const prom = new Hono()
  .get("/api/v1/query", (c) => c.json({ status: "success" }))
  .post("/api/v1/query", (c) => c.json({ status: "success" }));
const mounts: Mount[] = [
  { prefix: "", access: "host", summary: "remote_write", routes: write },
  { prefix: "/prometheus", access: "viewer", summary: "Prometheus API", routes: prom },
];
const f = serverFixture({ mounts });
after(() => f.close());

function accessOf(method: string, path: string): Access | undefined {
  const spec = f.routes.find((r) => r.method === method && r.path === path);
  if (spec) return spec.access;
  return mounts.find((m) => mountedRoutes(m).some((r) => r.method === method && r.path === path))?.access;
}

/** Every (method, path) the app serves: hono's route list without the middleware entries. */
const served = [
  ...new Map(
    f.app.routes.filter((r) => r.method !== "ALL").map((r) => [`${r.method} ${r.path}`, r] as const),
  ).values(),
];

const weaker: Record<Exclude<Access, "public">, Array<keyof typeof f.tokens>> = {
  host: ["viewer", "operator", "admin"],
  viewer: ["host"],
  operator: ["host", "viewer"],
  admin: ["host", "viewer", "operator"],
};
const right: Record<Exclude<Access, "public">, keyof typeof f.tokens> = {
  host: "host",
  viewer: "viewer",
  operator: "operator",
  admin: "admin",
};

test("the app serves every route of the table and the mounts, and nothing undeclared", () => {
  assert.ok(served.length >= f.routes.length + 3, `${served.length} routes`);
  for (const r of served)
    assert.ok(accessOf(r.method, r.path), `${r.method} ${r.path} has no declared access`);
  const open = served.filter((r) => accessOf(r.method, r.path) === "public").map((r) => r.path);
  assert.deepEqual(open.sort(), ["/api/v1/openapi.json", "/healthz"]);
});

for (const r of served) {
  const access = accessOf(r.method, r.path);
  if (access === undefined || access === "public") continue;
  const path = r.path.replace(":host", "h1").replace(":name", "kvmon-lab-1").replace("/*", "/");
  const body = r.method === "POST" ? {} : undefined;
  test(`${r.method} ${r.path} (${access}): 401 without or with a wrong token, 403 too weak, through with ${right[access]}`, async () => {
    for (const token of [null, "kvmon_wrong-token-0123456789", f.tokens[right[access]].slice(0, -1)]) {
      const res = await f.call(r.method, path, { token, body });
      assert.equal(res.status, 401, `token ${token}: ${await res.text()}`);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
    }
    for (const weak of weaker[access]) {
      const res = await f.call(r.method, path, { token: f.tokens[weak], body });
      const text = await res.text();
      assert.equal(res.status, 403, `${weak}: ${text}`);
      assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, "FORBIDDEN");
    }
    const res = await f.call(r.method, path, { token: f.tokens[right[access]], body });
    assert.ok(![401, 403].includes(res.status), `${right[access]}: ${res.status} ${await res.text()}`);
  });
}

test("a revoked token is refused from the next request on", async () => {
  const { TokenStore } = await import("./tokens.ts");
  const store = new TokenStore(f.db);
  const { token, info } = store.create("user", "temp", "viewer");
  assert.equal((await f.call("GET", "/api/v1/hosts", { token })).status, 200);
  store.revoke(info.id);
  assert.equal((await f.call("GET", "/api/v1/hosts", { token })).status, 401);
});

test("operator calls that are refused are in the audit log as denied", async () => {
  await f.call("POST", "/api/v1/domains/h1/vm1/exec", {
    token: f.tokens.viewer,
    body: { path: "/bin/true" },
  });
  const { records } = f.audit.query({ limit: 5, action: "exec" });
  const denied = records.find((r) => r.who === "vera");
  assert.ok(denied, JSON.stringify(records));
  assert.equal(denied.outcome, "denied");
  assert.equal(denied.status, 403);
  assert.equal(denied.host, "h1");
  assert.equal(denied.domain, "vm1");
});

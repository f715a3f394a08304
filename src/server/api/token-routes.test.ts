/**
 * The token routes through the dashboard's API client against the real app: list without secrets, make a user
 * and a host token (the secret works once shown), revoke, the last admin kept; bad input is a 400 naming the
 * field, a duplicate 409, an unknown token 404; every change is in the audit log without its secret.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { ApiClient } from "../../api/client.ts";
import { ApiError } from "../../api/errors.ts";
import { serverFixture } from "../testing/server-fixture.ts";

const f = serverFixture();
after(() => f.close());

const client = (token: string) =>
  new ApiClient({
    baseUrl: "http://kvmon.test",
    token,
    fetch: (input, init) => Promise.resolve(f.app.request(String(input), init)),
  });
const admin = client(f.tokens.admin);

const rejects = (p: Promise<unknown>, status: number, code: string, message?: RegExp) =>
  assert.rejects(p, (e) => {
    assert.ok(e instanceof ApiError, String(e));
    assert.equal(e.status, status, e.message);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });

test("the list has every token with its role or host, when made and last used, never a secret or hash", async () => {
  await client(f.tokens.viewer).hosts();
  const res = await f.call("GET", "/api/v1/tokens", { token: f.tokens.admin });
  assert.equal(res.status, 200);
  const text = await res.text();
  for (const secret of Object.values(f.tokens)) assert.ok(!text.includes(secret), "a secret in the list");
  assert.doesNotMatch(text, /hash/);
  const { tokens } = JSON.parse(text) as Awaited<ReturnType<ApiClient["tokens"]>>;
  const by = new Map(tokens.map((t) => [t.name, t]));
  assert.deepEqual(
    ["vera", "otto", "ada", "h1"].map((n) => [by.get(n)?.kind, by.get(n)?.role]),
    [
      ["user", "viewer"],
      ["user", "operator"],
      ["user", "admin"],
      ["host", null],
    ],
  );
  assert.ok(by.get("vera")!.lastUsedAt! > 0, "vera's token was just used");
  assert.equal(by.get("h1")!.lastUsedAt, null, "the host token was never used");
  assert.ok(tokens.every((t) => /^[0-9a-f]{12}$/.test(t.id) && t.revokedAt === null && t.createdAt > 0));
});

test("make a user token: the secret is answered once and logs in with its role; audited without it", async () => {
  const made = await admin.createToken({ name: "grafana", role: "viewer" });
  assert.match(made.token, /^kvmon_[A-Za-z0-9_-]{43}$/);
  assert.deepEqual([made.info.kind, made.info.name, made.info.role], ["user", "grafana", "viewer"]);
  assert.deepEqual(await client(made.token).session(), { name: "grafana", role: "viewer" });
  const [rec] = f.audit.query({ limit: 1, action: "token-create" }).records;
  assert.equal(rec?.who, "ada");
  assert.equal(rec?.outcome, "ok");
  assert.equal(rec?.status, 201);
  assert.deepEqual(rec?.what, { id: made.info.id, name: "grafana", role: "viewer" });
  assert.ok(!JSON.stringify(rec).includes(made.token));
  // A second live token of the same name is a conflict; the refusal is audited with what was asked.
  await rejects(
    admin.createToken({ name: "grafana", role: "admin" }),
    409,
    "TOKEN_EXISTS",
    /a live user token named 'grafana' exists/,
  );
  const [dup] = f.audit.query({ limit: 1, action: "token-create" }).records;
  assert.deepEqual(
    [dup?.outcome, dup?.code, dup?.what],
    ["error", "TOKEN_EXISTS", { name: "grafana", role: "admin" }],
  );
});

test("make a host token: the agent's push token, the host registered with the fleet", async () => {
  const made = await admin.createToken({ host: "h7" });
  assert.deepEqual([made.info.kind, made.info.name, made.info.role], ["host", "h7", null]);
  await rejects(client(made.token).hosts(), 403, "FORBIDDEN"); // a host token only pushes
  assert.ok(f.fleet.host("h7"), "h7 is registered");
  const [rec] = f.audit.query({ limit: 1, action: "token-create" }).records;
  assert.equal(rec?.host, "h7");
  await rejects(admin.createToken({ host: "h7" }), 409, "TOKEN_EXISTS");
});

test("bad bodies are refused with a 400 naming the field", async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ name: "x" }, /^body\.role: required: one of viewer, operator, admin/],
    [{ role: "viewer" }, /^body\.name: required/],
    [{ name: "../etc", role: "viewer" }, /^body\.name: 1-128 letters/],
    [{ name: "x", role: "root" }, /^body\.role: /],
    [{ host: "h9", role: "viewer" }, /^body\.role: a host token takes no name or role/],
    [{ name: "x", role: "viewer", secret: "s" }, /^body: unknown field 'secret'/],
    [{ host: "" }, /^body\.host: 1-128 letters/],
  ];
  for (const [body, message] of cases)
    await rejects(admin.createToken(body as never), 400, "BAD_REQUEST", message);
  assert.equal(f.fleet.host("h9"), undefined);
});

test("revoke: by name or id, refused from then on; an unknown token is 404; the last admin stays", async () => {
  const made = await admin.createToken({ name: "temp", role: "operator" });
  const revoked = await admin.revokeToken("temp");
  assert.equal(revoked.id, made.info.id);
  assert.ok(revoked.revokedAt! > 0);
  await rejects(client(made.token).session(), 401, "UNAUTHENTICATED");
  await rejects(admin.revokeToken("temp"), 404, "TOKEN_NOT_FOUND", /no live token with id or name 'temp'/);
  const [rec] = f.audit.query({ limit: 1, action: "token-revoke" }).records;
  assert.deepEqual([rec?.outcome, rec?.status, rec?.what], ["error", 404, { token: "temp" }]);
  const listed = (await admin.tokens()).tokens.find((t) => t.id === made.info.id);
  assert.equal(listed?.revokedAt, revoked.revokedAt);
  // ada holds the only admin token: refused (409); with a second admin, the second can go by its id.
  await rejects(admin.revokeToken("ada"), 409, "TOKEN_LAST_ADMIN", /'ada' holds the last live admin token/);
  const second = await admin.createToken({ name: "root", role: "admin" });
  assert.equal((await admin.revokeToken(second.info.id)).name, "root");
  await rejects(admin.revokeToken("ada"), 409, "TOKEN_LAST_ADMIN");
  assert.deepEqual(await admin.session(), { name: "ada", role: "admin" });
});

test("only admins reach the token routes", async () => {
  for (const who of ["viewer", "operator"] as const) {
    await rejects(client(f.tokens[who]).tokens(), 403, "FORBIDDEN");
    await rejects(client(f.tokens[who]).createToken({ name: "x", role: "admin" }), 403, "FORBIDDEN");
    await rejects(client(f.tokens[who]).revokeToken("ada"), 403, "FORBIDDEN");
  }
  const [rec] = f.audit.query({ limit: 1, action: "token-revoke" }).records;
  assert.deepEqual([rec?.who, rec?.outcome], ["otto", "denied"]);
});

/** The control endpoints through the whole hono app (createApp), with a scripted guest agent. */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createApp } from "../http.ts";
import { testAgent } from "../testing/setup.ts";
import { AuditLog, type AuditRecord } from "./audit.ts";
import type { ControlDeps } from "./routes.ts";
import { MAX_BODY_BYTES } from "../../model/control.ts";
import { scriptedChannel, TEST_TOKEN, testDeps } from "./testing.ts";
import { Logger } from "../log.ts";

const dir = await mkdtemp(join(tmpdir(), "kvmon-control-"));
after(() => rm(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString("base64");
const echo = scriptedChannel((cmd, args) => {
  if (cmd === "guest-exec") return { pid: 9 };
  if (cmd === "guest-exec-status") return { exited: true, exitcode: 0, "out-data": b64("hi\n") };
  if (cmd === "guest-get-time") return '{"return":1800000000000000123}';
  if (cmd === "guest-ping") return {};
  throw new Error(`unexpected ${cmd} ${JSON.stringify(args)}`);
});

function app(over: Partial<ControlDeps> = {}) {
  return createApp(testAgent().agent, { control: testDeps(echo, over) });
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", authorization: `Bearer ${TEST_TOKEN}`, ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

async function error(res: Response): Promise<{ code: string; message: string; hint?: string }> {
  return ((await res.json()) as { error: { code: string; message: string; hint?: string } }).error;
}

test("exec: the right token runs the command and answers its result", async () => {
  const res = await app().request("/api/v1/domains/vm1/exec", post("", { path: "/bin/echo", args: ["hi"] }));
  assert.equal(res.status, 200);
  const r = (await res.json()) as { exitCode: number; stdout: { text: string } };
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout.text, "hi\n");
});

test("auth: a missing, malformed or wrong token is 401 UNAUTHORIZED; no token configured is 403 CONTROL_DISABLED", async () => {
  const path = "/api/v1/domains/vm1/exec";
  const body = { path: "/bin/true" };
  for (const authorization of ["", "Basic abc", "Bearer", `Bearer ${TEST_TOKEN}x`, "Bearer wrong"]) {
    const res = await app().request(path, post("", body, { authorization }));
    assert.equal(res.status, 401, authorization);
    assert.equal((await error(res)).code, "UNAUTHORIZED");
  }
  const res = await app({ token: null }).request(path, post("", body));
  assert.equal(res.status, 403);
  const e = await error(res);
  assert.equal(e.code, "CONTROL_DISABLED");
  assert.match(e.hint ?? "", /controlToken/);
  // The default app (no control deps) has them disabled too.
  assert.equal((await createApp(testAgent().agent).request(path, post("", body))).status, 403);
});

test("switches: an endpoint off in the config is 403 FORBIDDEN naming its key, even with the right token", async () => {
  let res = await app({ guestExec: false }).request(
    "/api/v1/domains/vm1/exec",
    post("", { path: "/bin/true" }),
  );
  assert.equal(res.status, 403);
  assert.match((await error(res)).message, /guestExec/);
  res = await app({ guestPassthrough: false }).request(
    "/api/v1/domains/vm1/agent-command",
    post("", { execute: "guest-ping" }),
  );
  assert.equal(res.status, 403);
  assert.equal((await error(res)).code, "FORBIDDEN");
});

test("validation: bad bodies are 400 BAD_REQUEST naming the field; an oversized body is 413", async () => {
  const path = "/api/v1/domains/vm1/exec";
  const bad: [unknown, RegExp][] = [
    [{}, /path/],
    [{ path: "" }, /path/],
    [{ path: "x", timeout: -1 }, /timeout/],
    [{ path: "x", maxOutputBytes: 1e9 }, /maxOutputBytes/],
    [{ path: "x", extra: 1 }, /extra|unrecognized/i],
    [{ path: "x", input: "%%%", inputEncoding: "base64" }, /input: is not base64/],
    ["{not json", /JSON/],
  ];
  for (const [body, re] of bad) {
    const res = await app().request(path, post("", body));
    assert.equal(res.status, 400, JSON.stringify(body));
    const e = await error(res);
    assert.equal(e.code, "BAD_REQUEST");
    assert.match(e.message, re);
  }
  const res = await app().request(path, post("", { path: "x" }, { "content-type": "text/plain" }));
  assert.equal(res.status, 400);
  assert.match((await error(res)).message, /content-type/);
  const big = await app().request(path, post("", { path: "x", input: "a".repeat(MAX_BODY_BYTES) }));
  assert.equal(big.status, 413);
  assert.equal((await error(big)).code, "BODY_TOO_LARGE");
  const cmd = await app().request("/api/v1/domains/vm1/agent-command", post("", { execute: "bad name" }));
  assert.equal(cmd.status, 400);
});

test("agent-command: passthrough answers the agent's return value exactly (64-bit integers too); sync refused", async () => {
  const res = await app().request(
    "/api/v1/domains/vm1/agent-command",
    post("", { execute: "guest-get-time" }),
  );
  assert.equal(res.status, 200);
  assert.equal(await res.text(), '{"return":1800000000000000123}');
  const sync = await app().request(
    "/api/v1/domains/vm1/agent-command",
    post("", { execute: "guest-sync-delimited", arguments: { id: 1 } }),
  );
  assert.equal(sync.status, 400);
});

test("errors of the guest call keep their code with a fitting status", async () => {
  const failing = scriptedChannel(
    () => '{"error":{"class":"CommandNotFound","desc":"The command x has not been found"}}',
  );
  const res = await createApp(testAgent().agent, { control: testDeps(failing) }).request(
    "/api/v1/domains/vm1/agent-command",
    post("", { execute: "x" }),
  );
  assert.equal(res.status, 502);
  const e = await error(res);
  assert.equal(e.code, "QGA_COMMAND_FAILED");
  assert.match(e.message, /has not been found/);
});

test("GET on a control endpoint is 405 saying to use POST", async () => {
  const res = await app().request("/api/v1/domains/vm1/exec");
  assert.equal(res.status, 405);
  assert.match((await error(res)).message, /use POST/);
});

test("audit: every control call is one record: who (token id), guest, what, outcome, status, code, duration", async () => {
  const path = join(dir, "audit.log");
  const audit = new AuditLog({ path, logger: new Logger(() => undefined) });
  const deps = testDeps(echo, { audit });
  const a = createApp(testAgent().agent, { control: deps });
  await a.request(
    "/api/v1/domains/vm1/exec",
    post("", { path: "/bin/echo", args: ["hi"], input: "secret-in" }),
  );
  await a.request(
    "/api/v1/domains/vm2/exec",
    post("", { path: "/bin/true" }, { authorization: "Bearer nope" }),
  );
  await a.request(
    "/api/v1/domains/vm1/agent-command",
    post("", { execute: "guest-ping", arguments: { password: "hunter2hunter2" } }),
  );
  await audit.close();
  const text = await readFile(path, "utf8");
  assert.ok(!text.includes(TEST_TOKEN) && !text.includes("hunter2") && !text.includes("secret-in"));
  const [ok, denied, cmd] = text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);
  assert.equal(ok!.who, deps.token!.id);
  assert.equal(ok!.guest, "vm1");
  assert.equal(ok!.action, "exec");
  assert.deepEqual(ok!.what, { path: "/bin/echo", args: ["hi"], inputBytes: 9, timeout: 30 });
  assert.equal(ok!.outcome, "ok");
  assert.equal(ok!.status, 200);
  assert.equal(ok!.exitCode, 0);
  assert.ok(ok!.durationMs >= 0 && !Number.isNaN(Date.parse(ok!.time)));
  assert.equal(denied!.who, "anonymous");
  assert.equal(denied!.guest, "vm2");
  assert.equal(denied!.outcome, "denied");
  assert.equal(denied!.code, "UNAUTHORIZED");
  assert.deepEqual(cmd!.what, { execute: "guest-ping", arguments: ["password"] });
  assert.equal(cmd!.outcome, "ok");
});

/**
 * The agent's console route before the upgrade (the bytes through it: test/integration/server-console.test.ts):
 * the control token, a WebSocket upgrade required, 503 CONSOLE_UNAVAILABLE while no console opener is wired,
 * and the opener's typed error as the answer.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createNodeWebSocket } from "@hono/node-ws";
import { Hono } from "hono";
import { KvmonError } from "../../shared/errors.ts";
import { createApp } from "../http.ts";
import { testAgent } from "../testing/setup.ts";
import type { OpenConsole } from "./console.ts";
import { scriptedChannel, TEST_TOKEN, testDeps } from "./testing.ts";

function app(open: OpenConsole | null) {
  const { upgradeWebSocket } = createNodeWebSocket({ app: new Hono() });
  return createApp(testAgent().agent, {
    control: testDeps(scriptedChannel(() => ({}))),
    console: { open, upgradeWebSocket },
  });
}

const get = (a: Hono, headers: Record<string, string>) =>
  a.request("/api/v1/domains/vm1/console", { headers: { upgrade: "websocket", ...headers } });
const auth = { authorization: `Bearer ${TEST_TOKEN}` };
const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

test("the console needs the control token", async () => {
  const res = await get(app(null), {});
  assert.equal(res.status, 401);
});

test("without a console opener the route answers 503 CONSOLE_UNAVAILABLE", async () => {
  const res = await get(app(null), auth);
  assert.equal(res.status, 503);
  assert.equal(await code(res), "CONSOLE_UNAVAILABLE");
});

test("a plain GET is a 400: the console is a WebSocket", async () => {
  const res = await app(null).request("/api/v1/domains/vm1/console", { headers: auth });
  assert.equal(res.status, 400);
});

test("the opener's typed error is the answer, with its own code", async () => {
  const open: OpenConsole = () => Promise.reject(new KvmonError("LIBVIRT_OPERATION_INVALID", "console busy"));
  const res = await get(app(open), auth);
  assert.equal(await code(res), "LIBVIRT_OPERATION_INVALID");
});

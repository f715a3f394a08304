import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { goldenView } from "../top/testing.ts";
import { AgentClient, AgentUnreachableError } from "../agent-client.ts";
import { AgentViewSource } from "./agent-source.ts";

let server: Server;
let base: string;
let domainsCalls = 0;

before(async () => {
  const snap = goldenView();
  server = createServer((req, res) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.url === "/api/v1/host")
      return json(200, { collectedAt: snap.collectedAt, host: snap.host, connection: {} });
    if (req.url === "/api/v1/domains") {
      // A freshly started agent: 503 NO_SAMPLE_YET once, then the snapshot.
      if (domainsCalls++ === 0)
        return json(503, { error: { code: "NO_SAMPLE_YET", message: "no collection has completed yet" } });
      return json(200, { collectedAt: snap.collectedAt, domains: snap.domains });
    }
    if (req.url === "/denied")
      return json(401, { error: { code: "UNAUTHORIZED", message: "bad token", hint: "check the token" } });
    res.writeHead(500);
    res.end("<html>oops</html>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test("the agent's snapshot in the model's types, after waiting out its first collection", async () => {
  const snap = await new AgentViewSource(`${base}/`).snapshot();
  assert.equal(snap.source, "agent");
  assert.equal(snap.origin, base, "trailing slash dropped");
  assert.deepEqual(snap.domains, goldenView().domains);
  assert.equal(snap.host?.hostname, goldenView().host!.hostname);
  assert.equal(domainsCalls, 2, "retried after 503 NO_SAMPLE_YET");
});

test("the agent's own error code and hint come through; other failures get codes of their own", async () => {
  const agent = (url: string) => new AgentClient({ agent: url }, {}, 2000);
  await assert.rejects(agent(base).request("GET", "/denied"), {
    code: "UNAUTHORIZED",
    hint: "check the token",
  });
  await assert.rejects(agent(base).request("GET", "/other"), {
    code: "AGENT_PROTOCOL",
    message: `GET /other: the agent at ${base} answered 500 with no JSON`,
  });
  await assert.rejects(agent("http://127.0.0.1:1").request("GET", "/healthz"), (e: unknown) => {
    assert.ok(e instanceof AgentUnreachableError);
    assert.equal(e.code, "AGENT_UNREACHABLE");
    assert.match(e.hint!, /kvmon agent/);
    return true;
  });
});

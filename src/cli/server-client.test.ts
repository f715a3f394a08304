import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { WebSocketServer } from "ws";
import { pickRoute } from "./access.ts";
import { socketChannel } from "./commands/console.ts";
import { CliError } from "./errors.ts";
import { pickVm, ServerClient } from "./server-client.ts";

const fleet = [
  { host: "h1", name: "web-1" },
  { host: "h2", name: "web-1" },
  { host: "h2", name: "db-1" },
];

test("pickVm: a unique name is found with its host", () => {
  assert.deepEqual(pickVm("db-1", fleet), { host: "h2", name: "db-1" });
});

test("pickVm: an ambiguous name lists the candidates with their hosts", () => {
  assert.throws(
    () => pickVm("web-1", fleet),
    (e: unknown) =>
      e instanceof CliError && e.code === "AMBIGUOUS_VM" && /h1\/web-1, h2\/web-1/.test(e.message),
  );
});

test("pickVm: an unknown name lists near matches across the fleet as host/vm", () => {
  assert.throws(
    () => pickVm("db1", fleet),
    (e: unknown) =>
      e instanceof CliError && e.code === "NO_DOMAIN" && /did you mean h2\/db-1\?/.test(e.message),
  );
});

test("pickRoute: --server without a token is refused, with one it routes to the server", async () => {
  await assert.rejects(
    pickRoute({ server: "http://127.0.0.1:1" }, {}),
    (e: unknown) => e instanceof CliError && e.code === "API_TOKEN",
  );
  const r = await pickRoute({}, { KVMON_SERVER_URL: "http://127.0.0.1:1/", KVMON_TOKEN: "t" });
  assert.equal(r.kind, "server");
  assert.equal(r.kind === "server" && r.server.url, "http://127.0.0.1:1");
});

test("ServerClient: 403 keeps the server's message and says which role is needed; unreachable is SERVER_UNREACHABLE", async () => {
  const http = createServer((req, res) => {
    res.writeHead(req.headers.authorization === "Bearer good" ? 200 : 403, {
      "content-type": "application/json",
    });
    res.end(
      req.headers.authorization === "Bearer good"
        ? JSON.stringify({ domains: fleet })
        : JSON.stringify({
            error: { code: "FORBIDDEN", message: "needs the operator role; 'vera' is viewer" },
          }),
    );
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  try {
    assert.deepEqual(await new ServerClient(url, "good").resolve("db-1"), { host: "h2", name: "db-1" });
    await assert.rejects(
      new ServerClient(url, "bad").request("POST", "/api/v1/domains/h2/db-1/exec", {}),
      (e: unknown) =>
        e instanceof CliError &&
        e.code === "FORBIDDEN" &&
        /operator role/.test(e.message) &&
        /operator \(or admin\) token/.test(e.hint ?? ""),
    );
  } finally {
    http.close();
  }
  await assert.rejects(
    new ServerClient(url, "good").request("GET", "/api/v1/domains"),
    (e: unknown) => e instanceof CliError && e.code === "SERVER_UNREACHABLE",
  );
});

test("the console WebSocket: frames both ways through socketChannel; a refusal keeps the server's code", async () => {
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const paths: string[] = [];
  http.on("upgrade", (req, socket, head) => {
    paths.push(`${req.url} ${req.headers.authorization}`);
    if (req.headers.authorization === "Bearer none") {
      // What the server's WebSocket layer (@hono/node-ws) sends for a refused upgrade: the status alone.
      socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    if (req.headers.authorization !== "Bearer op") {
      const body = JSON.stringify({
        error: { code: "FORBIDDEN", message: "needs the operator role; 'vera' is viewer" },
      });
      socket.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("message", (data: Buffer) => {
        ws.send(Buffer.concat([Buffer.from("echo:"), data]));
        if (data.toString() === "bye") ws.close(1000);
      });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  try {
    const vm = { host: "h 1", name: "web-1" };
    const ws = await new ServerClient(url, "op").openConsole(vm);
    const channel = socketChannel(ws);
    channel.write(Buffer.from("ls\r"));
    channel.write(Buffer.from("bye"));
    const got: string[] = [];
    for await (const chunk of channel) got.push(Buffer.from(chunk).toString());
    assert.equal(got.join(""), "echo:ls\recho:bye");
    await assert.rejects(
      new ServerClient(url, "viewer").openConsole(vm),
      (e: unknown) =>
        e instanceof CliError &&
        e.code === "FORBIDDEN" &&
        /needs the operator role/.test(e.message) &&
        /operator/.test(e.hint ?? ""),
    );
    await assert.rejects(
      new ServerClient(url, "none").openConsole(vm),
      (e: unknown) =>
        e instanceof CliError &&
        e.code === "FORBIDDEN" &&
        /refused it with 403 Forbidden$/.test(e.message) &&
        /operator/.test(e.hint ?? ""),
    );
    assert.deepEqual(paths.slice(0, 2), [
      "/api/v1/domains/h%201/web-1/console Bearer op",
      "/api/v1/domains/h%201/web-1/console Bearer viewer",
    ]);
    await assert.rejects(
      new ServerClient("http://127.0.0.1:9", "op").openConsole(vm),
      (e: unknown) => e instanceof CliError && e.code === "SERVER_UNREACHABLE",
    );
  } finally {
    wss.close();
    http.close();
  }
});

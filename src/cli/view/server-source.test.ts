/**
 * The fleet server's view: hosts and every page of domains read with the token, checked by the model's schema,
 * and what top makes of it (a HOST column, the fleet line, host/vm rows in CSV and JSON).
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { csvRows, snapshotJson } from "../top/batch.ts";
import { composeFrame } from "../top/frame.ts";
import { initialState } from "../top/keys.ts";
import { goldenView } from "../top/testing.ts";
import { ServerClient } from "../server-client.ts";
import { CliError } from "../errors.ts";
import { openViewSource, viewTarget } from "./open.ts";
import { ServerViewSource } from "./server-source.ts";

let server: Server;
let base: string;
const asked: string[] = [];
const golden = goldenView();
/** Two hosts with the golden VMs each: the same names on both. */
const fleet = ["h1", "h2"].flatMap((host) => golden.domains.map((d) => ({ host, ...d })));

before(async () => {
  server = createServer((req, res) => {
    asked.push(`${req.url} ${req.headers.authorization}`);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url!, "http://x");
    if (url.pathname === "/api/v1/hosts")
      return json(200, {
        hosts: [
          { name: "h1", agentUp: true, domains: 4, collectedAt: golden.collectedAt, control: true },
          { name: "h2", agentUp: false, domains: 4, collectedAt: golden.collectedAt - 5000, control: false },
        ],
      });
    if (url.pathname === "/api/v1/domains") {
      // Pages of 5, whatever limit was asked: the source follows `total`.
      const offset = Number(url.searchParams.get("offset"));
      return json(200, { total: fleet.length, offset, limit: 5, domains: fleet.slice(offset, offset + 5) });
    }
    json(404, { error: { code: "NOT_FOUND", message: "no route" } });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test("every host's domains, all pages, each with its host; the hosts beside them", async () => {
  const snap = await new ServerViewSource(new ServerClient(base, "tok")).snapshot();
  assert.equal(snap.source, "server");
  assert.equal(snap.host, null);
  assert.deepEqual(snap.hosts, [
    { name: "h1", agentUp: true, domains: 4 },
    { name: "h2", agentUp: false, domains: 4 },
  ]);
  assert.deepEqual(snap.domains, fleet);
  assert.equal(snap.collectedAt, golden.collectedAt);
  assert.deepEqual(asked.sort(), [
    "/api/v1/domains?limit=1000&offset=0 Bearer tok",
    "/api/v1/domains?limit=1000&offset=5 Bearer tok",
    "/api/v1/hosts Bearer tok",
  ]);
});

test("top on the fleet: a HOST column, the hosts with a down agent named, host/vm in CSV and JSON", async () => {
  const snap = await new ServerViewSource(new ServerClient(base, "tok")).snapshot();
  const lines = composeFrame(snap, initialState("host", { name: null, state: null }), {
    width: 200,
    height: 50,
    color: false,
    delaySeconds: 3,
  });
  assert.match(lines[0]!, new RegExp(`source: server ${base}$`));
  assert.match(lines[1]!, /^fleet: 2 hosts \(agent down: h2\) {2}VMs: 8, 6 active .* sort: HOST/);
  assert.match(lines[3]!, /^HOST +NAME +STATE/);
  assert.deepEqual(
    lines.slice(4).map((l) => l.split(/ +/).slice(0, 2).join("/")),
    [
      ...golden.domains.map((d) => `h1/${d.name}`).sort(),
      ...golden.domains.map((d) => `h2/${d.name}`).sort(),
    ],
  );
  const json = snapshotJson(snap, { name: "tcg", state: null }, "name");
  assert.equal(json.host, null);
  assert.deepEqual(json.hosts, snap.hosts);
  assert.deepEqual(
    json.vms.map((r) => [r.host, r.name]),
    [
      ["h1", "kvmon-fixture-tcg"],
      ["h2", "kvmon-fixture-tcg"],
    ],
  );
  assert.ok(json.vcpus.every((r) => r.host === "h1" || r.host === "h2"));
  const csv = csvRows(snap, { name: "tcg", state: null }, "name");
  assert.match(csv, /^[^,]+,server,h1\/kvmon-fixture-tcg,/);
  assert.match(csv.split("\n")[1]!, /^[^,]+,server,h2\/kvmon-fixture-tcg,/);
});

test("viewTarget: the server only for top (fleet), from --server or KVMON_SERVER_URL, never over --agent/--local", async () => {
  const env = { KVMON_SERVER_URL: "http://s:1" };
  assert.equal(viewTarget({}, env, 1000).server, null, "shell never reads the fleet");
  assert.deepEqual(viewTarget({}, env, 1000, { fleet: true }).server, { url: "http://s:1", flags: {}, env });
  assert.equal(viewTarget({ agent: "http://a:1" }, env, 1000, { fleet: true }).server, null);
  assert.equal(viewTarget({ local: true }, env, 1000, { fleet: true }).server, null);
  await assert.rejects(
    openViewSource(viewTarget({ server: "http://s:1", local: true }, {}, 1000, { fleet: true })),
    /--server reads the fleet: it excludes --agent and --local/,
  );
  await assert.rejects(
    openViewSource(viewTarget({ server: base }, {}, 1000, { fleet: true })),
    (e: unknown) => e instanceof CliError && e.code === "API_TOKEN" && /viewer/.test(e.hint ?? ""),
  );
});

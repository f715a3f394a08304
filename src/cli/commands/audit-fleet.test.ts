import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { CliError } from "../errors.ts";
import { ServerClient } from "../server-client.ts";
import { fleetAudits, fleetTargets } from "./audit-fleet.ts";

const fleet = [
  { host: "h2", name: "db" },
  { host: "h1", name: "web" },
  { host: "h1", name: "db" },
];
const asked: string[] = [];
const http = createServer((req, res) => {
  asked.push(req.url!);
  const url = new URL(req.url!, "http://x");
  const json = (status: number, body: unknown) =>
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  if (url.pathname === "/api/v1/domains") return json(200, { total: fleet.length, domains: fleet });
  const m = /^\/api\/v1\/domains\/([^/]+)\/([^/]+)\/audit$/.exec(url.pathname);
  if (!m) return json(404, { error: { code: "NOT_FOUND", message: "no route" } });
  if (m[2] === "gone")
    return json(404, { error: { code: "LIBVIRT_NO_DOMAIN", message: "Domain not found" } });
  json(200, { name: m[2], uuid: "u", running: true, persistent: true, pid: 1, disks: [], notes: [m[1]] });
});
await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
after(() => http.close());
const server = new ServerClient(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, "op");

test("targets: the whole fleet by host and name; host/ for one host's; host/vm and a unique vm as named", async () => {
  assert.deepEqual(await fleetTargets(server, []), [
    { host: "h1", name: "db" },
    { host: "h1", name: "web" },
    { host: "h2", name: "db" },
  ]);
  assert.deepEqual(await fleetTargets(server, ["h1/", "h2/db", "web"]), [
    { host: "h1", name: "db" },
    { host: "h1", name: "web" },
    { host: "h2", name: "db" },
    { host: "h1", name: "web" },
  ]);
  await assert.rejects(
    fleetTargets(server, ["h3/"]),
    (e: unknown) => e instanceof CliError && e.code === "NO_DOMAIN" && /hosts: h1, h2/.test(e.hint ?? ""),
  );
  await assert.rejects(
    fleetTargets(server, ["db"]),
    (e: unknown) => e instanceof CliError && e.code === "AMBIGUOUS_VM",
  );
});

test("audits: each domain's answer with its host, in the order asked; qmp and the window passed; errors keep their code", async () => {
  asked.length = 0;
  const vms = await fleetTargets(server, []);
  const audits = await fleetAudits(server, vms, { qmp: true, windowMs: 0 });
  assert.deepEqual(
    audits.map((a) => [a.host, a.name, a.notes[0]]),
    [
      ["h1", "db", "h1"],
      ["h1", "web", "h1"],
      ["h2", "db", "h2"],
    ],
  );
  assert.deepEqual(asked.filter((u) => u.includes("/audit")).sort(), [
    "/api/v1/domains/h1/db/audit?qmp=1&windowMs=0",
    "/api/v1/domains/h1/web/audit?qmp=1&windowMs=0",
    "/api/v1/domains/h2/db/audit?qmp=1&windowMs=0",
  ]);
  await assert.rejects(
    fleetAudits(server, [{ host: "h1", name: "gone" }], { qmp: false, windowMs: 2000 }),
    (e: unknown) => e instanceof CliError && e.code === "LIBVIRT_NO_DOMAIN",
  );
});

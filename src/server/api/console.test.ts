/**
 * The console ticket: an operator gets one (audited), the console route accepts it once instead of the
 * Authorization header and records the principal it was issued to; it is refused when reused, expired, for
 * another domain or host, unknown, or shown to any other route; a viewer gets none and cannot open the console.
 * (Without an upgrade the console route answers 400 after the auth check, which is what tells "accepted" here;
 * the sockets themselves are in test/integration/server-console.test.ts.)
 */
import assert from "node:assert/strict";
import { after, beforeEach, test } from "node:test";
import { ApiClient } from "../../api/client.ts";
import { ApiError } from "../../api/errors.ts";
import { ConsoleTickets, TICKET_TTL_MS } from "../auth/console-tickets.ts";
import { serverFixture } from "../testing/server-fixture.ts";

let clock = 1_700_000_000_000;
const f = serverFixture({ now: () => clock });
// An agent that is never dialled: the calls below stop at the auth check or the missing upgrade.
f.fleet.register("h1", { url: "http://127.0.0.1:9", controlToken: "kvmon-unused-control-token-0123456789" });
after(() => f.close());
beforeEach(() => {
  clock += 60_000;
});

const consolePath = (domain: string, ticket: string, host = "h1") =>
  `/api/v1/domains/${host}/${domain}/console?ticket=${encodeURIComponent(ticket)}`;

async function ticketFor(domain: string, token = f.tokens.operator): Promise<string> {
  const res = await f.call("POST", `/api/v1/domains/h1/${domain}/console/ticket`, { token });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { ticket: string; expiresAt: number };
  assert.match(body.ticket, /^[\w-]{43}$/, "32 random bytes, base64url");
  assert.equal(body.expiresAt, clock + TICKET_TTL_MS);
  return body.ticket;
}

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, ...body.error };
}

test("an operator's ticket opens the console once, in the operator's name, and the issue is audited", async () => {
  const ticket = await ticketFor("vm1");
  const issued = f.audit.query({ limit: 1, action: "console-ticket" }).records[0]!;
  assert.deepEqual([issued.who, issued.host, issued.domain, issued.outcome], ["otto", "h1", "vm1", "ok"]);
  assert.ok(!JSON.stringify(issued).includes(ticket), "the ticket itself is never written down");

  const first = await errorOf(await f.call("GET", consolePath("vm1", ticket)));
  assert.deepEqual([first.status, first.code], [400, "BAD_REQUEST"], "past the auth check: no upgrade asked");
  const session = f.audit.query({ limit: 1, action: "console" }).records[0]!;
  assert.equal(session.who, "otto", "the audit log names whom the ticket was issued to");
  assert.deepEqual(session.what, { ticket: true });

  const again = await errorOf(await f.call("GET", consolePath("vm1", ticket)));
  assert.deepEqual([again.status, again.code], [401, "UNAUTHENTICATED"]);
  assert.match(again.message, /unknown or already used/);
  const refused = f.audit.query({ limit: 1, action: "console" }).records[0]!;
  assert.deepEqual([refused.who, refused.outcome, refused.status], ["anonymous", "denied", 401]);
});

test("an expired ticket is refused", async () => {
  const ticket = await ticketFor("vm1");
  clock += TICKET_TTL_MS;
  const res = await errorOf(await f.call("GET", consolePath("vm1", ticket)));
  assert.equal(res.status, 401);
  assert.match(res.message, /expired/);
});

test("a ticket is refused for another domain or host, and is spent by the attempt", async () => {
  const ticket = await ticketFor("vm1");
  const other = await errorOf(await f.call("GET", consolePath("vm2", ticket)));
  assert.equal(other.status, 401);
  assert.match(other.message, /another domain/);
  const back = await errorOf(await f.call("GET", consolePath("vm1", ticket)));
  assert.match(back.message, /already used/, "a refused attempt spends the ticket");

  f.fleet.register("h2", {
    url: "http://127.0.0.1:9",
    controlToken: "kvmon-unused-control-token-0123456789",
  });
  const otherHost = await errorOf(await f.call("GET", consolePath("vm1", await ticketFor("vm1"), "h2")));
  assert.equal(otherHost.status, 401);
  assert.match(otherHost.message, /another domain/);
});

test("an unknown ticket is refused, and no other route takes a ticket", async () => {
  const unknown = await errorOf(await f.call("GET", consolePath("vm1", "A".repeat(43))));
  assert.equal(unknown.status, 401);
  const ticket = await ticketFor("vm1");
  const elsewhere = await f.call("GET", `/api/v1/domains/h1/vm1?ticket=${ticket}`);
  assert.equal(elsewhere.status, 401, "a ticket is no bearer token");
  const exec = await f.call("POST", `/api/v1/domains/h1/vm1/exec?ticket=${ticket}`, {
    body: { path: "/bin/true" },
  });
  assert.equal(exec.status, 401);
  assert.equal(
    (await f.call("GET", consolePath("vm1", ticket))).status,
    400,
    "and it still opens its console",
  );
});

test("a viewer gets no ticket and cannot open the console (403)", async () => {
  const res = await errorOf(
    await f.call("POST", "/api/v1/domains/h1/vm1/console/ticket", { token: f.tokens.viewer }),
  );
  assert.deepEqual([res.status, res.code], [403, "FORBIDDEN"]);
  const direct = await f.call("GET", "/api/v1/domains/h1/vm1/console", {
    token: f.tokens.viewer,
    headers: { upgrade: "websocket" },
  });
  assert.equal(direct.status, 403);
});

test("a ticket for a host without an agent is refused when asked for, with the fix", async () => {
  const res = await f.call("POST", "/api/v1/domains/nohost/vm1/console/ticket", { token: f.tokens.operator });
  const err = await errorOf(res);
  assert.deepEqual([err.status, err.code], [409, "AGENT_NOT_REGISTERED"]);
});

test("expired tickets are dropped, and at most 10000 are kept (the oldest go first)", () => {
  let now = 0;
  const tickets = new ConsoleTickets(() => now);
  const otto = { kind: "user", name: "otto", role: "operator" } as const;
  const first = tickets.issue(otto, "h1", "vm1").ticket;
  for (let i = 0; i < 10_000; i++) tickets.issue(otto, "h1", "vm1");
  assert.equal(tickets.size, 10_000);
  assert.throws(() => tickets.redeem(first, "h1", "vm1"), /unknown or already used/);
  now += TICKET_TTL_MS;
  assert.equal(tickets.size, 0);
});

test("the API client asks for a ticket and builds the socket's URL on the server's or the page's origin", async () => {
  const client = (token: string, baseUrl = "https://kvmon.test:9478") =>
    new ApiClient({
      baseUrl,
      token,
      fetch: (input, init) => Promise.resolve(f.app.request(String(input), init)),
    });
  const { ticket, expiresAt } = await client(f.tokens.operator).consoleTicket("h1", "vm 1");
  assert.equal(expiresAt, clock + TICKET_TTL_MS);
  assert.equal(
    client(f.tokens.operator).consoleUrl("h1", "vm 1", ticket),
    `wss://kvmon.test:9478/api/v1/domains/h1/vm%201/console?ticket=${ticket}`,
  );
  assert.equal(
    client(f.tokens.operator, "").consoleUrl("h1", "vm1", "t", "http://127.0.0.1:9478"),
    "ws://127.0.0.1:9478/api/v1/domains/h1/vm1/console?ticket=t",
  );
  assert.equal(
    (await f.call("GET", consolePath("vm 1", ticket))).status,
    400,
    "the client's ticket is accepted",
  );
  await assert.rejects(
    client(f.tokens.viewer).consoleTicket("h1", "vm1"),
    (e) => e instanceof ApiError && e.status === 403,
  );
});

/**
 * The serial console in the dashboard, in headless Chromium against the lab: a real agent (console, exec) behind
 * a real server. Proves: an operator who logged in opens a lab VM's console (a ticket, then the socket), types
 * `echo kvmon-$((6*7))` and sees the guest's `kvmon-42`, and the server's audit log names the operator; a second
 * session takes the console over and the first says so; a host whose agent is down gets a clear message; a
 * viewer finds no console, no command runner and no tracing switch, and the server refuses the calls (403).
 * The console card's screenshot is docs/img/web-console.png (used in docs/web.md).
 */
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Browser, Page } from "playwright-core";
import type { RunningAgent } from "../../src/agent/server.ts";
import { startControlAgent } from "../agent-helpers.ts";
import { labGuests } from "../lab.ts";
import { ARTIFACTS, bounded, launchChromium, logIn, startWebServer, type WebServer } from "../web-helpers.ts";

const HOST = "lab-host";
/** A host whose agent is registered but not listening. */
const DOWN = "down-host";
const CONTROL_TOKEN = "kvmon-web-console-control-token-0123";
const GUEST = labGuests[0]!;
const DOCS_IMAGE = join(import.meta.dirname, "../../docs/img/web-console.png");
let dir: string;
let agent: { running: RunningAgent; base: string };
let web: WebServer;
let browser: Browser;

interface ConsoleAudit {
  who: string;
  action: string;
  domain: string;
  outcome: string;
  status: number;
  code: string | null;
  what: Record<string, unknown>;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-web-console-"));
  agent = await startControlAgent(dir, CONTROL_TOKEN);
  web = await startWebServer([
    { name: HOST, agent: { url: agent.base, controlToken: CONTROL_TOKEN } },
    { name: DOWN, agent: { url: "http://127.0.0.1:9", controlToken: CONTROL_TOKEN } },
  ]);
  for (let i = 0; i < 50 && !agent.running.agent.snapshot(); i++) await sleep(200);
  const pushed = await web.api(
    "POST",
    "/api/v1/push/snapshot",
    web.hostTokens[HOST]!,
    agent.running.agent.snapshot(),
  );
  assert.equal(pushed.status, 204, JSON.stringify(pushed.body));
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
});

after(async () => {
  await bounded("browser close", browser?.close());
  await bounded("server stop", web?.stop());
  await bounded("agent stop", agent?.running.stop());
  await rm(dir, { recursive: true, force: true });
});

/** Logs in through the form as `token` and opens the domain's page. */
async function domainPage(token: string, host = HOST, domain = GUEST): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await logIn(page, web.server.url, token);
  await page.goto(`${web.server.url}/#/domain/${host}/${domain}`);
  return page;
}

async function connect(page: Page): Promise<void> {
  await page.click(".console-connect");
  await page.waitForSelector(".console[data-state=open]", { timeout: 30_000 });
}

const screenText = async (page: Page) => (await page.textContent(".console .xterm-rows")) ?? "";

async function consoleAudit(): Promise<ConsoleAudit[]> {
  const r = await web.api<{ records: ConsoleAudit[] }>(
    "GET",
    "/api/v1/audit?action=console",
    web.tokens.admin,
  );
  return r.body.records;
}

test("an operator opens a lab VM's console, types a command and sees the guest's answer; the session is audited", async () => {
  const page = await domainPage(web.tokens.operator);
  try {
    await page.waitForSelector(".console .notice.audited");
    assert.match((await page.textContent(".console .notice.audited")) ?? "", /Audited/);
    await connect(page);
    await page.click(".console-screen");
    // The shell may be mid-line or echo slowly: type again until its answer shows (the typed line has no "42").
    for (let i = 0; i < 20 && !(await screenText(page)).includes("kvmon-42"); i++) {
      await page.keyboard.type("echo kvmon-$((6*7))");
      await page.keyboard.press("Enter");
      await sleep(1000);
    }
    assert.match(
      await screenText(page),
      /kvmon-42/,
      `the terminal shows: ${(await screenText(page)).slice(-400)}`,
    );
    await page.locator(".console").screenshot({ path: join(ARTIFACTS, "web-console.png") });
    await copyFile(join(ARTIFACTS, "web-console.png"), DOCS_IMAGE);
    const session = (await consoleAudit()).find((r) => r.domain === GUEST && r.outcome === "ok");
    assert.ok(session, "the server's audit log has the session");
    assert.deepEqual([session.who, session.status, session.what], ["otto", 101, { ticket: true }]);

    await page.click(".console-disconnect");
    await page.waitForSelector(".console[data-state=closed]");
    assert.equal(await page.textContent(".console-status"), "Disconnected.");
  } finally {
    await page.close();
  }
});

test("a second session takes the console over, and the first one says so", async () => {
  const first = await domainPage(web.tokens.operator);
  const second = await domainPage(web.tokens.operator);
  try {
    await connect(first);
    await connect(second);
    await first.waitForSelector(".console[data-state=closed], .console[data-state=error]", {
      timeout: 30_000,
    });
    assert.match((await first.textContent(".console-status")) ?? "", /one console session per domain/);
    assert.equal(await second.getAttribute(".console", "data-state"), "open");
  } finally {
    await first.close();
    await second.close();
  }
});

test("a host whose agent is down: the console says the agent cannot be reached", async () => {
  const page = await domainPage(web.tokens.operator, DOWN, "vm1");
  try {
    await page.click(".console-connect");
    await page.waitForSelector(".console[data-state=error]", { timeout: 30_000 });
    assert.match((await page.textContent(".console-status")) ?? "", /agent cannot be reached/);
    const refused = (await consoleAudit()).find((r) => r.domain === "vm1");
    assert.ok(refused, "the refusal is in the audit log");
    assert.deepEqual(
      [refused.who, refused.outcome, refused.status, refused.code],
      ["otto", "error", 502, "AGENT_UNREACHABLE"],
    );
  } finally {
    await page.close();
  }
});

test("a viewer finds no console, no command runner and no tracing switch; the server refuses them (403)", async () => {
  const page = await domainPage(web.tokens.viewer);
  try {
    await page.waitForSelector(".tracing .trace-state");
    await page.waitForSelector(".domain-header");
    assert.equal(await page.locator(".console").count(), 0);
    assert.equal(await page.locator("form.command").count(), 0);
    assert.equal(await page.locator("button.trace-on").count(), 0);
  } finally {
    await page.close();
  }
  const base = `/api/v1/domains/${HOST}/${GUEST}`;
  for (const [method, path, body] of [
    ["POST", `${base}/console/ticket`, undefined],
    ["POST", `${base}/exec`, { path: "/bin/true" }],
    ["POST", `${base}/trace`, {}],
  ] as const) {
    const r = await web.api<{ error: { code: string } }>(method, path, web.tokens.viewer, body);
    assert.deepEqual([r.status, r.body.error.code], [403, "FORBIDDEN"], `${method} ${path}`);
  }
});

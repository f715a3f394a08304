/**
 * The admin's pages and the empty states in real headless Chromium against a real server that starts with no
 * agents: the fleet says how to start one; the tokens page (admins) lists tokens, makes one (its secret shown
 * once, copied to the clipboard, then working), revokes one after a confirmation, refuses the last admin token
 * and a duplicate with the server's reason, makes a host token whose agent's push then fills the fleet; a VM
 * without a guest agent says what that hides; the audit log has the changes and filters them; a viewer finds no
 * tokens page. Screenshots for the docs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, BrowserContext } from "playwright-core";
import type { Snapshot } from "../../src/model/types.ts";
import { ARTIFACTS, launchChromium, startWebServer, type WebServer } from "../web-helpers.ts";

let web: WebServer;
let browser: Browser;
let admin: BrowserContext;

before(async () => {
  web = await startWebServer([]);
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
  admin = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  await admin.addInitScript((t) => sessionStorage.setItem("kvmon.token", t), web.tokens.admin);
  await admin.grantPermissions(["clipboard-read", "clipboard-write"], { origin: web.server.url });
});

after(async () => {
  await browser?.close();
  await web?.stop();
});

const session = (token: string) => web.api<{ name: string; role: string }>("GET", "/api/v1/session", token);

test("no agents yet: the fleet says how to register a host and start its agent", async () => {
  const page = await admin.newPage();
  await page.goto(web.server.url);
  await page.waitForSelector(".hosts .empty");
  const text = (await page.textContent(".hosts .empty")) ?? "";
  assert.match(text, /No agents have pushed yet/);
  assert.match(text, /kvmon server host add <name>/);
  assert.match(text, /kvmon agent --push-url/);
  assert.equal(await page.textContent(".count"), "0 of 0 domains");
  await page.screenshot({ path: join(ARTIFACTS, "web-fleet-empty.png") });
  await page.close();
});

test("tokens: admins list them, make one (secret shown once, copied, working), revoke after confirming", async () => {
  const page = await admin.newPage();
  await page.goto(web.server.url);
  await page.click("a.nav-tokens");
  await page.waitForSelector("table.tokens tbody tr[data-token=ada]");
  const listed = await page
    .locator("table.tokens tbody tr")
    .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-token")));
  assert.deepEqual(listed, ["vera", "otto", "ada"]);
  assert.match((await page.textContent("tr[data-token=vera]")) ?? "", /viewer.*never/);
  // ada's token is in use right now: its last use shows.
  assert.match((await page.textContent("tr[data-token=ada]")) ?? "", /admin.*\d+ s ago/);

  await page.fill("form.token-create input[name=name]", "grafana");
  await page.selectOption("form.token-create select[name=role]", "viewer");
  await page.click("form.token-create button[type=submit]");
  await page.waitForSelector(".secret .token-secret");
  const secret = (await page.textContent(".secret .token-secret"))!;
  assert.match(secret, /^kvmon_[A-Za-z0-9_-]{43}$/);
  assert.match((await page.textContent(".secret")) ?? "", /shown this once/);
  await page.click(".secret button.copy");
  await page.waitForSelector(".secret button.copy >> text=Copied");
  assert.equal(await page.evaluate("navigator.clipboard.readText()"), secret);
  assert.deepEqual((await session(secret)).body, { name: "grafana", role: "viewer" });
  await page.waitForSelector("tr[data-token=grafana]");
  await page.screenshot({ path: join(ARTIFACTS, "web-tokens.png") });
  // Done hides the secret for good: the list never has it.
  await page.click(".secret button >> text=Done");
  assert.equal(await page.locator(".token-secret").count(), 0);
  assert.ok(!((await page.textContent("main")) ?? "").includes(secret));

  // Revoke asks first; Cancel keeps the token.
  await page.click("tr[data-token=grafana] button.revoke");
  assert.match((await page.textContent("tr[data-token=grafana]")) ?? "", /Revoke grafana\?/);
  await page.click("tr[data-token=grafana] button >> text=Cancel");
  assert.equal((await session(secret)).status, 200);
  await page.click("tr[data-token=grafana] button.revoke");
  await page.click("tr[data-token=grafana] button.danger");
  await page.waitForSelector("text=Revoked grafana's token");
  assert.equal(await page.locator("tr[data-token=grafana]").count(), 0);
  assert.equal((await session(secret)).status, 401);
  await page.check("input[name=revoked]");
  assert.match((await page.textContent("tr[data-token=grafana]")) ?? "", /revoked/);
  await page.close();
});

test("tokens: the server's refusals show on the page (a duplicate name, the last admin token)", async () => {
  const page = await admin.newPage();
  await page.goto(`${web.server.url}/#/tokens`);
  await page.waitForSelector("tr[data-token=ada]");
  await page.fill("form.token-create input[name=name]", "vera");
  await page.click("form.token-create button[type=submit]");
  await page.waitForSelector(".status.error >> text=a live user token named 'vera' exists");
  assert.equal(await page.locator(".token-secret").count(), 0);
  await page.click("tr[data-token=ada] button.revoke");
  await page.click("tr[data-token=ada] button.danger");
  await page.waitForSelector(".status.error >> text=holds the last live admin token");
  assert.equal((await session(web.tokens.admin)).status, 200);
  await page.close();
});

test("a host token made on the page lets that host's agent push; a VM without a guest agent says what that hides", async () => {
  const page = await admin.newPage();
  await page.goto(`${web.server.url}/#/tokens`);
  await page.waitForSelector("tr[data-token=ada]");
  await page.selectOption("form.token-create select[name=kind]", "host");
  assert.equal(await page.isVisible("form.token-create select[name=role]"), false);
  await page.fill("form.token-create input[name=name]", "h9");
  await page.click("form.token-create button[type=submit]");
  await page.waitForSelector(".secret >> text=the agent token of host h9");
  const hostToken = (await page.textContent(".secret .token-secret"))!;
  assert.match((await page.textContent("tr[data-token=h9]")) ?? "", /host/);

  const url = new URL("../../src/model/testdata/snapshot.golden.json", import.meta.url);
  const snap = JSON.parse(readFileSync(url, "utf8")) as Snapshot;
  snap.agent.hostname = "h9";
  snap.finishedAt = Date.now();
  const pushed = await web.api("POST", "/api/v1/push/snapshot", hostToken, snap);
  assert.equal(pushed.status, 204, JSON.stringify(pushed.body));
  await page.click("a >> text=Fleet");
  await page.waitForSelector(".hosts [data-host=h9]");
  assert.equal(await page.locator(".hosts .empty").count(), 0);

  const vm = snap.domains.find((d) => !d.guest)!;
  await page.goto(`${web.server.url}/#/domain/h9/${vm.name}`);
  await page.waitForSelector(".domain-header .notice");
  assert.match(
    (await page.textContent(".domain-header .notice")) ?? "",
    /No guest agent answers in this VM: OS, IPs, users, filesystems .* are hidden/,
  );
  await page.waitForSelector("[data-chart=fs][data-state=empty]");
  assert.match((await page.textContent("[data-chart=fs]")) ?? "", /needs the QEMU guest agent/);
  await page.close();
});

test("the audit log has the token changes, refused ones included, and filters by action and who", async () => {
  const page = await admin.newPage();
  await page.goto(`${web.server.url}/#/audit`);
  await page.waitForSelector("table.audit tbody tr");
  await page.selectOption("select[name=action]", "token-revoke");
  // Rows present and all of the action (the table is empty for a moment while the filtered page loads).
  await page.waitForFunction(`(() => {
    const rows = [...document.querySelectorAll("table.audit tbody tr")];
    return rows.length > 0 && rows.every((r) => r.dataset.action === "token-revoke");
  })()`);
  const outcomes = await page
    .locator("table.audit tbody tr")
    .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-outcome")));
  // Newest first: the last admin refused, then grafana's token revoked.
  assert.deepEqual(outcomes, ["error", "ok"]);
  assert.match((await page.textContent("table.audit tbody tr >> nth=0")) ?? "", /TOKEN_LAST_ADMIN/);
  await page.fill("input[name=who]", "vera");
  await page.press("input[name=who]", "Enter");
  await page.waitForSelector("text=Nothing matches.");
  assert.equal(await page.locator("table.audit tbody tr").count(), 0);
  await page.close();
});

test("a viewer has no tokens link, and the page says it is for admins", async () => {
  const context = await browser.newContext();
  await context.addInitScript((t) => sessionStorage.setItem("kvmon.token", t), web.tokens.viewer);
  const page = await context.newPage();
  await page.goto(`${web.server.url}/#/tokens`);
  await page.waitForSelector("text=Tokens are for admins.");
  assert.equal(await page.locator("a.nav-tokens").count(), 0);
  assert.equal(await page.locator("form.token-create").count(), 0);
  await context.close();
});

test("the tokens page at 390 px: no sideways page scroll, the list scrolls inside", async () => {
  const page = await admin.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${web.server.url}/#/tokens`);
  await page.waitForSelector("tr[data-token=ada]");
  const [wide, shown] = (await page.evaluate(
    "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
  )) as [number, number];
  assert.ok(wide <= shown, `the tokens page is ${wide} px wide in a ${shown} px window`);
  await page.screenshot({ path: join(ARTIFACTS, "web-tokens-390.png") });
  await page.close();
});

/**
 * The dashboard on the lab, in headless Chromium: a real agent (guest sources, exec and the tracer on) pushes
 * its snapshots to a real server, and its /metrics series go into the server's sample store as remote_write
 * would deliver them (the `host` label added). Proves: log in and see the lab VMs; with one VM under load
 * (a busy loop started through the dashboard's API), sorting by CPU puts it first; a VM's page shows the guest
 * agent's facts and charts whose last point equals the API's; a command typed into the runner returns the
 * guest's answer; tracing switched on for the KVM guest shows counts; a viewer finds no runner and no switch.
 * Screenshots go to test-artifacts/.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { RunningAgent } from "../../src/agent/server.ts";
import type { Series } from "../../src/server/storage/types.ts";
import { withTimeout } from "../../src/shared/errors.ts";
import { startControlAgent } from "../agent-helpers.ts";
import { kvmSkipReason, labGuests, withKvmGuest } from "../lab.ts";
import { ARTIFACTS, launchChromium, logIn, startWebServer, type WebServer } from "../web-helpers.ts";

const HOST = "lab-host";
const CONTROL_TOKEN = "kvmon-web-it-control-token-0123456789";
const LOADED = labGuests[1]!;
const SHOWN = labGuests[0]!;
let dir: string;
let agent: { running: RunningAgent; base: string };
let web: WebServer;
let browser: Browser;
let feeder: ReturnType<typeof setInterval>;
let lastFed = 0;

/** The agent's /metrics text as series at time `t`, with the `host` label the push sender adds. */
function exposition(text: string, t: number, host: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = { __name__: m[1]!, host };
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    out.push({ labels, samples: [{ t, v: Number(m[3]) }] });
  }
  return out;
}

/** Pushes the agent's latest snapshot and its series (once per collection). */
async function feed(): Promise<void> {
  const snap = agent.running.agent.snapshot();
  if (!snap || snap.finishedAt === lastFed) return;
  lastFed = snap.finishedAt;
  const r = await web.api("POST", "/api/v1/push/snapshot", web.hostTokens[HOST]!, snap);
  assert.equal(r.status, 204, JSON.stringify(r.body));
  const text = await (await fetch(`${agent.base}/metrics`)).text();
  await web.store.append(exposition(text, snap.finishedAt, HOST));
}

async function operatorPage(path: string, token = web.tokens.operator): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await context.addInitScript((t) => sessionStorage.setItem("kvmon.token", t), token);
  const page = await context.newPage();
  await page.goto(`${web.server.url}/${path}`);
  return page;
}

function exec(domain: string, command: string) {
  return web.api<{ exitCode: number | null; stdout: { text: string } }>(
    "POST",
    `/api/v1/domains/${HOST}/${domain}/exec`,
    web.tokens.operator,
    { path: "/bin/sh", args: ["-c", command], timeout: 20 },
  );
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-web-it-"));
  agent = await startControlAgent(dir, CONTROL_TOKEN);
  web = await startWebServer([{ name: HOST, agent: { url: agent.base, controlToken: CONTROL_TOKEN } }]);
  for (let i = 0; i < 50 && !agent.running.agent.snapshot(); i++)
    await new Promise((r) => setTimeout(r, 200));
  await feed();
  feeder = setInterval(
    () => void feed().catch((e: unknown) => process.stderr.write(`feed: ${String(e)}\n`)),
    1000,
  );
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
});

after(async () => {
  clearInterval(feeder);
  const bounded = (what: string, p: Promise<unknown> | undefined) =>
    withTimeout(p ?? Promise.resolve(), 60_000, what).catch((e: unknown) =>
      process.stderr.write(`${String(e)}\n`),
    );
  await bounded("browser close", browser?.close());
  await bounded("server stop", web?.stop());
  await bounded("agent stop", agent?.running.stop());
  await rm(dir, { recursive: true, force: true });
});

test("log in and see the lab VMs; with one under load, the CPU sort puts it first", async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await logIn(page, web.server.url, web.tokens.operator);
  for (const name of labGuests) await page.waitForSelector(`.rows .row[data-domain='${name}']`);
  const load = await exec(LOADED, "timeout 60 sh -c 'while :; do :; done' >/dev/null 2>&1 & echo $!");
  assert.equal(load.status, 200, JSON.stringify(load.body));
  const pid = load.body.stdout.text.trim();
  try {
    // The fleet page refreshes every 10 s; the agent sees the load in its next collections. A busy TCG guest
    // keeps about one host CPU busy, so it is first by its load (at least 50 %), not by chance.
    await page.waitForFunction(
      `(() => { const r = document.querySelector(".rows .row"); return r?.dataset.domain === ${JSON.stringify(LOADED)} && parseFloat(r.querySelector(".col-cpu").textContent) >= 50; })()`,
      undefined,
      { timeout: 60_000, polling: 500 },
    );
    assert.equal(await page.getAttribute("button.col-cpu", "aria-sort"), "descending");
    await page.screenshot({ path: join(ARTIFACTS, "web-lab-fleet.png") });
  } finally {
    await exec(LOADED, `kill ${pid} 2>/dev/null; true`);
  }
  await page.context().close();
});

test("a VM's page: the guest agent's facts, charts whose last point equals the API's", async () => {
  // Two more collections, so the rates have points.
  const since = lastFed;
  for (let i = 0; i < 100 && lastFed < since + 4000; i++) await new Promise((r) => setTimeout(r, 200));
  const page = await operatorPage(`#/domain/${HOST}/${SHOWN}`);
  await page.waitForSelector(".domain-header h1");
  const header = (await page.textContent(".domain-header")) ?? "";
  assert.match(header, /running/);
  await page.waitForFunction(
    `!/OS–/.test(document.querySelector(".domain-header").textContent.replace(/\\s/g, ""))`,
    undefined,
    { timeout: 45_000 },
  );
  // The last 15 minutes (a 4 s step): the feed has run for a few dozen seconds.
  await page.click(".ranges button >> text=15 min");
  for (const [id, metric] of [
    ["cpu", "kvmon_domain_cpu_usage_ratio"],
    ["memory", "kvmon_domain_memory_current_bytes"],
  ] as const) {
    await page.waitForFunction(
      `(() => { const c = document.querySelector("[data-chart=${id}]"); const r = JSON.parse(c.dataset.range); return c.dataset.state === "ok" && r.end - r.start === 900; })()`,
    );
    const chart = page.locator(`[data-chart=${id}]`);
    const range = JSON.parse((await chart.getAttribute("data-range"))!) as { start: number; end: number };
    const last = JSON.parse((await chart.getAttribute("data-last"))!) as Array<[number, number]>;
    const api = await web.api<{ series: Array<{ points: Array<[number, number]> }> }>(
      "GET",
      `/api/v1/series/range?metric=${metric}&match=host=${HOST}&match=domain=${SHOWN}&start=${range.start}&end=${range.end}`,
      web.tokens.viewer,
    );
    assert.equal(api.status, 200);
    const points = api.body.series[0]!.points;
    assert.ok(points.length >= 2, `${id}: ${points.length} points`);
    assert.deepEqual(last[0], points[points.length - 1], `${id}: the chart's last point is the API's`);
  }
  await page.waitForSelector("[data-chart=disk][data-state=ok]");
  await page.screenshot({ path: join(ARTIFACTS, "web-lab-domain.png"), fullPage: true });
  await page.context().close();
});

test("the command runner: a command typed in returns the guest's answer", async () => {
  const page = await operatorPage(`#/domain/${HOST}/${SHOWN}`);
  await page.fill("form.command input[name=command]", "echo kvmon-web-$((6*7)) $(hostname)");
  await page.click("form.command button[type=submit]");
  await page.waitForSelector(".exec-output[data-state=done]", { timeout: 40_000 });
  const out = (await page.textContent(".exec-output")) ?? "";
  assert.match(out, /kvmon-web-42 \S+/);
  assert.equal(await page.getAttribute(".exec-output", "data-exit-code"), "0");
  await page.screenshot({ path: join(ARTIFACTS, "web-lab-command.png") });
  await page.context().close();
});

test("a viewer finds no command runner and no tracing switch", async () => {
  const page = await operatorPage(`#/domain/${HOST}/${SHOWN}`, web.tokens.viewer);
  await page.waitForSelector(".tracing .trace-state");
  assert.equal(await page.locator("form.command").count(), 0);
  assert.equal(await page.locator("button.trace-on").count(), 0);
  await page.context().close();
});

test(
  "tracing the KVM guest from its page: switched on, counts appear, switched off",
  { skip: await kvmSkipReason() },
  async () => {
    await withKvmGuest(async (domain) => {
      for (let i = 0; i < 50; i++) {
        const r = await web.api<{ total: number }>(
          "GET",
          `/api/v1/domains?name=${domain}`,
          web.tokens.viewer,
        );
        if (r.body.total > 0) break;
        await new Promise((res) => setTimeout(res, 500));
      }
      const page = await operatorPage(`#/domain/${HOST}/${domain}`);
      try {
        await page.waitForSelector("button.trace-on:not([disabled])");
        await page.selectOption("select[aria-label='Tracing duration']", "60");
        await page.click("button.trace-on");
        await page.waitForSelector(".tracing[data-tracing=on]", { timeout: 60_000 });
        assert.match((await page.textContent(".trace-state")) ?? "", /switches itself off at/);
        await page.waitForFunction(
          `Number(document.querySelector(".tracing")?.dataset.total ?? 0) > 0`,
          undefined,
          {
            timeout: 30_000,
          },
        );
        assert.ok((await page.locator("table.counts tbody tr").count()) > 0);
        await page.screenshot({ path: join(ARTIFACTS, "web-lab-tracing.png"), fullPage: true });
        await page.click("button.trace-off");
        await page.waitForSelector(".tracing[data-tracing=off]", { timeout: 60_000 });
      } finally {
        await web.api("DELETE", `/api/v1/domains/${HOST}/${domain}/trace`, web.tokens.operator);
        await page.context().close();
      }
    });
  },
);

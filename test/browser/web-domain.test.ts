/**
 * The domain page's derived charts in real headless Chromium against a real server holding an hour of known
 * samples (no lab needed): disk latency per request (the rate of a time counter over the rate of its request
 * counter), the guest filesystems' fill-up forecast (said for a filling filesystem, not for a flat one), and the
 * disk audit's panel as a viewer (told it needs the operator role) and as an operator on a host whose agent
 * the server cannot reach (the error in place). The audit of a real domain is in test/integration/web-lab.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { Snapshot } from "../../src/model/types.ts";
import type { Series } from "../../src/server/storage/types.ts";
import { ARTIFACTS, launchChromium, startWebServer, type WebServer } from "../web-helpers.ts";

const HOST = "h0";
const DOMAIN = "kvmon-lab-1";
const GIB = 2 ** 30;
const now = Math.floor(Date.now() / 1000);
let web: WebServer;
let browser: Browser;

/** An hour of samples every 15 s (the server's step for an hour: one sample per step, so rates are exact). */
function series(name: string, labels: Record<string, string>, f: (s: number) => number): Series {
  return {
    labels: { __name__: name, host: HOST, domain: DOMAIN, ...labels },
    samples: Array.from({ length: 240 }, (_, k) => ({ t: (now - 3600 + k * 15) * 1000, v: f(k * 15) })),
  };
}

before(async () => {
  web = await startWebServer([{ name: HOST }]);
  const snap = JSON.parse(
    readFileSync(new URL("../../src/model/testdata/snapshot.golden.json", import.meta.url), "utf8"),
  ) as Snapshot;
  snap.agent.hostname = HOST;
  snap.finishedAt = Date.now();
  const r = await web.api("POST", "/api/v1/push/snapshot", web.hostTokens[HOST]!, snap);
  assert.equal(r.status, 204, JSON.stringify(r.body));
  const vda = { device: "vda" };
  await web.store.append([
    // 100 reads/s taking 4 ms each; 20 writes/s taking 12 ms each; no flushes (no latency to show).
    series("kvmon_domain_block_read_requests_total", vda, (s) => 100 * s),
    series("kvmon_domain_block_read_time_seconds_total", vda, (s) => 100 * s * 0.004),
    series("kvmon_domain_block_write_requests_total", vda, (s) => 20 * s),
    series("kvmon_domain_block_write_time_seconds_total", vda, (s) => 20 * s * 0.012),
    series("kvmon_domain_block_flush_requests_total", vda, () => 7),
    series("kvmon_domain_block_flush_time_seconds_total", vda, () => 0.5),
    // "/" fills by 1 GiB an hour, 7 of 10 GiB used now: full in about 3 h. "/boot" stays where it is.
    series("kvmon_guest_filesystem_size_bytes", { mountpoint: "/" }, () => 10 * GIB),
    series("kvmon_guest_filesystem_used_bytes", { mountpoint: "/" }, (s) => 6 * GIB + (s / 3600) * GIB),
    series("kvmon_guest_filesystem_size_bytes", { mountpoint: "/boot" }, () => GIB),
    series("kvmon_guest_filesystem_used_bytes", { mountpoint: "/boot" }, () => 0.3 * GIB),
  ]);
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await web?.stop();
});

async function domainPage(token = web.tokens.viewer): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await context.addInitScript((t) => sessionStorage.setItem("kvmon.token", t), token);
  const page = await context.newPage();
  await page.goto(`${web.server.url}/#/domain/${HOST}/${DOMAIN}`);
  return page;
}

async function lastPoints(page: Page, id: string): Promise<Map<string, [number, number]>> {
  await page.waitForSelector(`[data-chart=${id}][data-state=ok]`);
  const names = JSON.parse((await page.getAttribute(`[data-chart=${id}]`, "data-names"))!) as string[];
  const last = JSON.parse((await page.getAttribute(`[data-chart=${id}]`, "data-last"))!) as Array<
    [number, number]
  >;
  return new Map(names.map((n, i) => [n, last[i]!]));
}

test("disk latency: time per request for reads and writes, in ms; no requests, no line", async () => {
  const page = await domainPage();
  const last = await lastPoints(page, "latency");
  assert.deepEqual([...last.keys()], ["vda read", "vda write"]);
  assert.ok(Math.abs(last.get("vda read")![1] - 0.004) < 1e-9, String(last.get("vda read")));
  assert.ok(Math.abs(last.get("vda write")![1] - 0.012) < 1e-9, String(last.get("vda write")));
  // The last point is the one the API's counters give over the chart's range.
  const range = JSON.parse((await page.getAttribute("[data-chart=latency]", "data-range"))!) as {
    start: number;
    end: number;
  };
  const api = async (metric: string) => {
    const a = await web.api<{ series: Array<{ points: Array<[number, number]> }> }>(
      "GET",
      `/api/v1/series/range?metric=${metric}&match=host=${HOST}&match=domain=${DOMAIN}&start=${range.start}&end=${range.end}&agg=last`,
      web.tokens.viewer,
    );
    return a.body.series[0]!.points.slice(-2);
  };
  const [t0, t1] = await api("kvmon_domain_block_read_time_seconds_total");
  const [r0, r1] = await api("kvmon_domain_block_read_requests_total");
  assert.equal(last.get("vda read")![0], t1![0]);
  assert.ok(Math.abs(last.get("vda read")![1] - (t1![1] - t0![1]) / (r1![1] - r0![1])) < 1e-12);
  // Shown in ms: the legend's values under the cursor.
  await page.hover("[data-chart=latency] .u-over");
  assert.match((await page.textContent("[data-chart=latency] .u-legend")) ?? "", /vda read\s*4\.00 ms/);
  await page.context().close();
});

test("the fill-up forecast: a filling filesystem gets one, a flat one none", async () => {
  const page = await domainPage();
  const last = await lastPoints(page, "fs");
  assert.ok(Math.abs(last.get("/")![1] - 0.7) < 0.01, String(last.get("/")));
  const forecast = page.locator("[data-chart=fs] .forecast");
  assert.equal(await forecast.count(), 1);
  assert.equal(await forecast.getAttribute("data-mount"), "/");
  const hours = Number(await forecast.getAttribute("data-seconds")) / 3600;
  assert.ok(hours > 2.9 && hours < 3.1, `full in ${hours} h`);
  assert.match((await forecast.textContent()) ?? "", /^\/: full in ~3 h/);
  await page.locator("[data-chart=fs]").screenshot({ path: join(ARTIFACTS, "web-domain-forecast.png") });
  await page.context().close();
});

test("the disk audit panel: a viewer is told it needs an operator; an operator sees why it could not run", async () => {
  const viewer = await domainPage();
  await viewer.waitForSelector(".disk-audit .notice");
  assert.match((await viewer.textContent(".disk-audit .notice")) ?? "", /needs the operator role/);
  assert.equal(await viewer.locator(".disk-audit button.audit-run").count(), 0);
  await viewer.context().close();

  const operator = await domainPage(web.tokens.operator);
  await operator.click(".disk-audit button.audit-run");
  await operator.waitForSelector(".disk-audit[data-state=error]");
  assert.match((await operator.textContent(".disk-audit .error")) ?? "", /cannot reach this host's agent/);
  assert.equal(await operator.isEnabled(".disk-audit button.audit-run"), true);
  await operator.context().close();
});

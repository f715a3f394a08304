/**
 * The dashboard on the lab, in headless Chromium: a real agent (guest sources, exec and the tracer on) pushes
 * its snapshots to a real server, and its /metrics series go into the server's sample store as remote_write
 * would deliver them (the `host` label added). Proves: log in and see the lab VMs; with one VM under load
 * (a busy loop started through the dashboard's API), sorting by CPU puts it first; a VM's page shows the guest
 * agent's facts and charts whose last point equals the API's (CPU with vCPU steal, memory from the balloon and
 * the guest, each NIC, filesystems, disk latency after a synced write, KVM exits by category); the disk audit
 * shows the lab disk's cache and io modes with their meaning; a command typed into the runner returns the
 * guest's answer; tracing switched on for the KVM guest shows counts, events per second over time and the recent
 * events; a viewer finds no runner, no switch and no audit button.
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

type Point = [number, number];
interface TimeRange {
  start: number;
  end: number;
}

/** What a chart drew: its range and each line's last point, by legend name. */
async function chartLast(page: Page, id: string): Promise<{ range: TimeRange; last: Map<string, Point> }> {
  const chart = page.locator(`[data-chart=${id}]`);
  const attr = async (name: string) => JSON.parse((await chart.getAttribute(name))!) as unknown;
  const names = (await attr("data-names")) as string[];
  const last = (await attr("data-last")) as Point[];
  return {
    range: (await attr("data-range")) as TimeRange,
    last: new Map(names.map((n, i) => [n, last[i]!])),
  };
}

/** The API's series of a metric for the shown domain over a range (`last` per step, as counters are asked). */
async function apiSeries(
  metric: string,
  range: TimeRange,
  agg: "avg" | "last",
  domain = SHOWN,
): Promise<Array<{ labels: Record<string, string>; points: Point[] }>> {
  const r = await web.api<{ series: Array<{ labels: Record<string, string>; points: Point[] }> }>(
    "GET",
    `/api/v1/series/range?metric=${metric}&match=host=${HOST}&match=domain=${domain}&start=${range.start}&end=${range.end}&agg=${agg}`,
    web.tokens.viewer,
  );
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.series;
}

/** The last per-second rate of a counter's points: the difference of the last two over their time. */
function lastRate(points: Point[]): Point {
  const [t0, v0] = points[points.length - 2]!;
  const [t1, v1] = points[points.length - 1]!;
  return [t1, (v1 - v0) / (t1 - t0)];
}

function near(actual: Point | undefined, expected: Point, what: string): void {
  assert.ok(actual, `${what}: the chart has no such line`);
  assert.equal(actual[0], expected[0], `${what}: the last point's time`);
  assert.ok(
    Math.abs(actual[1] - expected[1]) <= 1e-9 * Math.max(1, Math.abs(expected[1])),
    `${what}: ${actual[1]} drawn, ${expected[1]} from the API`,
  );
}

/** Waits until the feed has pushed `n` more collections. */
async function collections(n: number): Promise<void> {
  const since = lastFed;
  for (let i = 0; i < 150 && lastFed < since + n * 1000; i++) await new Promise((r) => setTimeout(r, 200));
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

test("a VM's page: steal, balloon and in-guest memory, each NIC, filesystems and disk latency equal the API's", async () => {
  // Disk requests to measure: 16 MiB written and synced to the data disk (cache=none io=native).
  const write = await exec(
    SHOWN,
    "dd if=/dev/zero of=/mnt/data/kvmon-web-lab.bin bs=1M count=16 conv=fsync 2>/dev/null; rm -f /mnt/data/kvmon-web-lab.bin; sync",
  );
  assert.equal(write.body.exitCode, 0, JSON.stringify(write.body));
  await collections(3);
  // The guest's CPU modes are a ratio of two reads of its /proc/stat on the guest sources' fast tier (10 s): on
  // an agent started moments ago, wait for the first.
  for (let i = 0; i < 60; i++) {
    const recent = { start: Math.floor(Date.now() / 1000) - 900, end: Math.floor(Date.now() / 1000) };
    const modes = await apiSeries("kvmon_guest_cpu_ratio", recent, "avg");
    if (modes.some((x) => x.labels.mode === "steal" && x.points.length > 0)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const page = await operatorPage(`#/domain/${HOST}/${SHOWN}`);
  await page.click(".ranges button >> text=15 min");
  for (const id of ["cpu", "memory", "net", "fs", "latency"])
    await page.waitForFunction(
      `(() => { const c = document.querySelector("[data-chart=${id}]"); return c.dataset.state === "ok" && JSON.parse(c.dataset.range).end - JSON.parse(c.dataset.range).start === 900; })()`,
      undefined,
      { timeout: 30_000 },
    );

  // CPU: the guest's own steal (in-guest /proc/stat) and the host-side steal of each vCPU (its delay counter).
  const cpu = await chartLast(page, "cpu");
  const guestCpu = await apiSeries("kvmon_guest_cpu_ratio", cpu.range, "avg");
  const steal = guestCpu.find((x) => x.labels.mode === "steal");
  assert.ok(steal, "the guest agent reports steal");
  near(cpu.last.get("guest steal"), steal.points[steal.points.length - 1]!, "guest steal");
  const delay = await apiSeries("kvmon_domain_vcpu_delay_seconds_total", cpu.range, "last");
  assert.ok(delay.length >= 1, "libvirt reports the vCPUs' delay");
  for (const v of delay)
    near(
      cpu.last.get(`vCPU ${v.labels.vcpu} steal (waiting for a host CPU)`),
      lastRate(v.points),
      `vCPU ${v.labels.vcpu} steal`,
    );

  // Memory: the balloon's size and what the guest itself has available.
  const memory = await chartLast(page, "memory");
  for (const [name, metric] of [
    ["balloon (assigned)", "kvmon_domain_memory_current_bytes"],
    ["guest available", "kvmon_guest_memory_available_bytes"],
  ] as const) {
    const [one] = await apiSeries(metric, memory.range, "avg");
    near(memory.last.get(name), one!.points[one!.points.length - 1]!, name);
  }

  // Network: one line per NIC and direction, each the rate of its counter.
  const net = await chartLast(page, "net");
  const rx = await apiSeries("kvmon_domain_interface_receive_bytes_total", net.range, "last");
  assert.ok(rx.length >= 1, "the lab VM has a NIC");
  for (const nic of rx)
    near(net.last.get(`${nic.labels.interface} rx`), lastRate(nic.points), `${nic.labels.interface} rx`);

  // Filesystems: used / size per mount point.
  const fs = await chartLast(page, "fs");
  const size = await apiSeries("kvmon_guest_filesystem_size_bytes", fs.range, "avg");
  const used = await apiSeries("kvmon_guest_filesystem_used_bytes", fs.range, "avg");
  const data = used.find((x) => x.labels.mountpoint === "/mnt/data");
  assert.ok(data, "the guest agent reports /mnt/data");
  const dataSize = size.find((x) => x.labels.mountpoint === "/mnt/data")!.points;
  const [t, u] = data.points[data.points.length - 1]!;
  near(fs.last.get("/mnt/data"), [t, u / dataSize.find((p) => p[0] === t)![1]], "/mnt/data used");

  // Disk latency: the write counters' time over their requests, at the last step with writes.
  const latency = await chartLast(page, "latency");
  const [time] = (
    await apiSeries("kvmon_domain_block_write_time_seconds_total", latency.range, "last")
  ).filter((x) => x.labels.device === "vdb" || x.labels.device === "vda");
  assert.ok(time, "the data disk's write time");
  const reqs = (await apiSeries("kvmon_domain_block_write_requests_total", latency.range, "last")).find(
    (x) => x.labels.device === time.labels.device,
  )!;
  const perRequest: Point[] = [];
  for (let i = 1; i < time.points.length; i++) {
    const dr = reqs.points[i]![1] - reqs.points[i - 1]![1];
    if (dr > 0) perRequest.push([time.points[i]![0], (time.points[i]![1] - time.points[i - 1]![1]) / dr]);
  }
  assert.ok(perRequest.length > 0, "writes were counted");
  near(latency.last.get(`${time.labels.device} write`), perRequest[perRequest.length - 1]!, "write latency");
  // The page with every chart drawn (docs/img/web-domain.png), from the top (the header is sticky).
  await page.evaluate("window.scrollTo(0, 0)");
  await page.screenshot({ path: join(ARTIFACTS, "web-lab-domain-all.png"), fullPage: true });
  await page.locator("[data-chart=latency]").screenshot({ path: join(ARTIFACTS, "web-lab-latency.png") });
  await page.context().close();
});

test("the disk audit from a VM's page: each disk's cache and io modes with their meaning and findings", async () => {
  const page = await operatorPage(`#/domain/${HOST}/${SHOWN}`);
  await page.click(".disk-audit button.audit-run");
  await page.waitForSelector(".disk-audit[data-state=done]", { timeout: 60_000 });
  // The lab's data disk: cache='none' io='native' (docs/lab.md).
  const disks = page.locator(".audit-disk");
  assert.ok((await disks.count()) >= 1);
  const data = page.locator(".audit-disk", {
    has: page.locator("[data-mode=io] strong", { hasText: "native" }),
  });
  assert.equal(await data.locator("[data-mode=cache] strong").textContent(), "none");
  assert.match((await data.locator("[data-mode=cache] dd").textContent()) ?? "", /O_DIRECT/);
  assert.match((await data.locator("[data-mode=io] dd").textContent()) ?? "", /native AIO/);
  assert.match((await page.textContent(".audit-summary")) ?? "", /\d+ critical, \d+ warning, \d+ info/);
  await page.locator(".disk-audit").screenshot({ path: join(ARTIFACTS, "web-lab-audit.png") });
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
  assert.equal(await page.locator("button.audit-run").count(), 0);
  assert.match((await page.textContent(".disk-audit .notice")) ?? "", /needs the operator role/);
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
        // Over time: events per second, one line per event, once a few whole seconds are counted.
        await page.waitForFunction(
          `Number(document.querySelector(".trace-chart")?.dataset.points ?? 0) >= 3`,
          undefined,
          { timeout: 30_000 },
        );
        assert.ok((await page.locator(".trace-chart canvas").count()) > 0);
        // The recent events, newest first: each of an event the run counted.
        await page.waitForSelector("table.recent tbody tr");
        const recent = await page
          .locator("table.recent tbody tr")
          .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-event") ?? ""));
        const counts = await web.api<{ events: Record<string, unknown> }>(
          "GET",
          `/api/v1/domains/${HOST}/${domain}/trace/counts`,
          web.tokens.viewer,
        );
        const counted = new Set(Object.keys(counts.body.events));
        assert.ok(recent.length > 0 && recent.length <= 20, `${recent.length} recent events`);
        for (const e of recent)
          assert.ok(counted.has(e), `${e} is not among the counted ${[...counted].join(",")}`);
        await page.screenshot({ path: join(ARTIFACTS, "web-lab-tracing.png"), fullPage: true });
        await page.click("button.trace-off");
        await page.waitForSelector(".tracing[data-tracing=off]", { timeout: 60_000 });
        assert.match((await page.textContent(".trace-state")) ?? "", /Tracing is off \(last run stopped/);

        // KVM's own exit counters by category, as rates: the chart's last points are the API's.
        await collections(2);
        await page.click(".ranges button >> text=15 min");
        await page.waitForSelector("[data-chart=exits][data-state=ok]", { timeout: 30_000 });
        const exits = await chartLast(page, "exits");
        const counters = await apiSeries("kvmon_domain_kvm_events_total", exits.range, "last", domain);
        for (const c of counters.filter((x) => exits.last.has(x.labels.counter!)))
          near(exits.last.get(c.labels.counter!), lastRate(c.points), `exits ${c.labels.counter}`);
        assert.ok(exits.last.has("exits") && exits.last.has("io_exits"), [...exits.last.keys()].join(","));
      } finally {
        await web.api("DELETE", `/api/v1/domains/${HOST}/${domain}/trace`, web.tokens.operator);
        await page.context().close();
      }
    });
  },
);

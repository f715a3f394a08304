/**
 * Live faults under the real agent process (`./bin/kvmon agent`, as an operator runs it, default interval):
 * libvirtd is restarted (SIGTERM to the pid in /run/libvirtd.pid, then started again the lab's way, as
 * libvirt-reconnect.test.ts does; libvirtd is running again afterwards whatever happens, and the lab lock is
 * held meanwhile so no concurrent `lab up` races the restart). /metrics is scraped every 200 ms the whole
 * time: no scrape may fail, kvmon_libvirt_up must go 0 then 1, and fresh samples of the lab guests must resume
 * within 10 s of the daemon being back. Also the quick start's command line (`--listen 127.0.0.1:PORT`).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { labPaths } from "../../src/lab/config.ts";
import { daemonPid, ensureDaemons, isAlive, LIBVIRTD } from "../../src/lab/daemons.ts";
import { withLabLock } from "../../src/lab/lock.ts";
import { startAgentProcess } from "../agent-helpers.ts";
import { labGuests } from "../lab.ts";

/** Value of a sample line `name{labels} value` (labels matched as a substring), or undefined. */
function sample(text: string, name: string, labels = ""): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || !line.includes(labels)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

/** The oldest kvmon_domain_stats_timestamp_seconds of the lab guests (epoch s), or 0 if one is missing. */
function oldestGuestSample(text: string): number {
  return Math.min(
    ...labGuests.map((g) => sample(text, "kvmon_domain_stats_timestamp_seconds", `domain="${g}"`) ?? 0),
  );
}

test("quick start: kvmon agent --listen 127.0.0.1:PORT serves /metrics and the JSON API there", async () => {
  const agent = await startAgentProcess(["--listen", "127.0.0.1:0", "--interval", "1"]);
  try {
    assert.match(agent.base, /^http:\/\/127\.0\.0\.1:\d+$/);
    let text = "";
    for (let i = 0; i < 100 && !/^kvmon_domain_state_code/m.test(text); i++) {
      text = await (await fetch(`${agent.base}/metrics`)).text();
      await sleep(100);
    }
    for (const g of labGuests) assert.equal(sample(text, "kvmon_domain_state_code", `domain="${g}"`), 1, g);
    const res = await fetch(`${agent.base}/api/v1/domains/${labGuests[0]}`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { domain: { name: string } }).domain.name, labGuests[0]);
    // The launcher runs the agent without V8's memory reducer (bin/kvmon says why).
    const argv = readFileSync(`/proc/${agent.child.pid}/cmdline`, "utf8").split("\0");
    assert.ok(argv.includes("--no-memory-reducer"), argv.join(" "));
  } finally {
    await agent.stop();
  }
});

test("faults: libvirtd restarted under the running agent; /metrics never fails, samples resume within 10 s", async (t) => {
  // The default interval (10 s): the resume time includes waiting for the next collection, as in production.
  const agent = await startAgentProcess(["--listen", "127.0.0.1:0"]);
  interface Scrape {
    at: number; // epoch ms when the reply arrived
    ok: boolean;
    error?: string;
    up?: number;
    oldest?: number; // epoch s
    collections?: number;
  }
  const scrapes: Scrape[] = [];
  let scraping = true;
  // Bounded: at most 1000 scrapes (200 s), one every 200 ms, each with its own 2 s deadline.
  const scraper = (async () => {
    for (let i = 0; i < 1000 && scraping; i++) {
      const t0 = Date.now();
      try {
        const res = await fetch(`${agent.base}/metrics`, { signal: AbortSignal.timeout(2000) });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        scrapes.push({
          at: Date.now(),
          ok: true,
          up: sample(text, "kvmon_libvirt_up"),
          oldest: oldestGuestSample(text),
          collections: sample(text, "kvmon_collections_total"),
        });
      } catch (e) {
        scrapes.push({ at: Date.now(), ok: false, error: (e as Error).message });
      }
      await sleep(Math.max(0, 200 - (Date.now() - t0)));
    }
  })();
  try {
    // Fresh samples of every guest before the fault, and a couple of seconds of scrapes.
    const sampled = () => (scrapes.at(-1)?.oldest ?? 0) > 0 && scrapes.length >= 10;
    for (let i = 0; i < 150 && !sampled(); i++) await sleep(100);
    assert.ok(sampled(), "the agent sampled every lab guest");
    assert.equal(scrapes.at(-1)!.up, 1);

    let back = 0;
    let resumed = 0;
    await withLabLock(
      labPaths().root,
      () => {},
      async () => {
        const pid = await daemonPid(LIBVIRTD);
        assert.ok(pid, "libvirtd pid file names a live process");
        try {
          process.kill(pid, "SIGTERM");
          for (let i = 0; i < 600 && isAlive(pid); i++) await sleep(50);
          assert.ok(!isAlive(pid), "libvirtd exited within 30 s of SIGTERM");
          // Down long enough for scrapes to see it (the agent notices the closed socket at once).
          for (let i = 0; i < 50 && !scrapes.some((s) => s.up === 0); i++) await sleep(100);
          // Started the lab's way (with its loopback TCP/TLS listeners), so later tests find the same daemon;
          // ensureDaemons returns once its socket answers.
          await ensureDaemons(() => {});
          back = Date.now();
          const pid2 = await daemonPid(LIBVIRTD);
          assert.ok(pid2 && pid2 !== pid, "a new libvirtd");
        } finally {
          if (!(await daemonPid(LIBVIRTD))) await ensureDaemons(() => {});
        }
      },
    );
    // Fresh = a complete record of every guest taken after the daemon was back. Bounded wait: 30 s.
    for (let i = 0; i < 300 && resumed === 0; i++) {
      const s = scrapes.find((x) => x.at > back && x.ok && x.up === 1 && x.oldest! * 1000 > back);
      if (s) resumed = s.at;
      else await sleep(100);
    }
    scraping = false;
    await scraper;
    const failed = scrapes.filter((s) => !s.ok);
    const downs = scrapes.filter((s) => s.up === 0).length;
    const upAgain = scrapes.findIndex((s, i) => s.up === 1 && scrapes.slice(0, i).some((x) => x.up === 0));
    const resumeSeconds = (resumed - back) / 1000;
    t.diagnostic(
      `${scrapes.length} scrapes, ${failed.length} failed, ${downs} saw kvmon_libvirt_up 0; fresh samples of ` +
        `every guest ${resumed ? `${resumeSeconds.toFixed(1)} s` : "never"} after libvirtd answered again (interval 10 s)`,
    );
    assert.deepEqual(
      failed.map((s) => s.error),
      [],
      "every scrape succeeded while libvirtd was down",
    );
    assert.ok(downs > 0, "kvmon_libvirt_up went to 0");
    assert.ok(upAgain > 0, "kvmon_libvirt_up went back to 1");
    const tail = () =>
      `${agent.log.slice(-15).join("\n")}\nback at ${back / 1000}; scrapes after: ${JSON.stringify(
        scrapes.filter((s) => s.at > back).filter((_, i) => i % 10 === 0),
      )}`;
    assert.ok(resumed > 0, `fresh samples resumed; last agent log lines:\n${tail()}`);
    assert.ok(
      resumeSeconds < 10,
      `fresh samples resumed ${resumeSeconds} s after libvirtd was back:\n${tail()}`,
    );
  } finally {
    scraping = false;
    await scraper;
    await agent.stop();
    if (!(await daemonPid(LIBVIRTD))) await ensureDaemons(() => {});
  }
  assert.equal(agent.child.exitCode, 0, `agent exit: ${agent.log.slice(-5).join("\n")}`);
});

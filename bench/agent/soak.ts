/**
 * bench/agent/soak.ts: is the agent's memory flat over a long run?
 *
 *   .tools/node/bin/node bench/agent/soak.ts --help     # the options and their defaults
 *
 * Runs the real agent (`./bin/kvmon agent`, or --kvmon COMMAND, a child process, `--interval 1` by default to compress time: one
 * hour here is 3600 collections, six hours of the default 10 s interval) on the lab (qemu:///system), on its own
 * loopback port. Scrapes /metrics every --scrape seconds (default 5) and samples, every --sample seconds
 * (default 30), the agent's resident memory (VmRSS from /proc/<pid>/status, the kernel's number, not the
 * agent's own) and its V8 heap in use (`nodejs_heap_size_used_bytes` from its /metrics, so no --expose-gc or
 * inspector is needed). At the end it prints the samples as a markdown table and the least-squares slope of RSS
 * and heap over time (KiB/hour), the first --warmup minutes excluded (V8's heap and the JIT settle there).
 *
 * Fails (exit 1) when the RSS slope exceeds --max-slope KiB/hour (default 2048 = 2 MiB/hour, i.e. less than
 * 50 MiB a day; a leak of one small object per collection at interval 1 s is ~3600 objects/hour and shows
 * up far above that), when any scrape failed (the agent must keep serving whatever libvirt does), or when
 * the agent exited. A libvirtd restart during the soak is fine: the agent reconnects (kvmon_libvirt_up goes
 * 0 then 1 and the reconnect count shows in the table); scrapes must still all succeed.
 *
 * Every loop is bounded in count and time; all traffic is to 127.0.0.1.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { benchArgs } from "../lib/cli.ts";
import { statusKiB } from "../lib/cpu.ts";
import { slope } from "../lib/stats.ts";

const opt = benchArgs("bench/agent/soak.ts", {
  numbers: { minutes: 60, interval: 1, warmup: 5, scrape: 5, sample: 30, "max-slope": 2048 },
  strings: { uri: "qemu:///system", kvmon: join(import.meta.dirname, "../../bin/kvmon") },
});
const MINUTES = opt.minutes;
const INTERVAL = opt.interval;
const WARMUP_MIN = opt.warmup;
const SCRAPE_S = opt.scrape;
const SAMPLE_S = opt.sample;
const MAX_SLOPE = opt["max-slope"];
const log = (s: string) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

/** Starts the agent on a free loopback port; resolves with the child and its address from its start-up log. */
async function startAgent(): Promise<{ child: ChildProcess; base: string; logTail: string[] }> {
  const [cmd, ...args] = opt.kvmon.split(/\s+/).filter((x) => x !== "");
  const child = spawn(
    cmd!,
    [...args, "agent", "--listen", "127.0.0.1:0", "--interval", String(INTERVAL), "--uri", opt.uri],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const logTail: string[] = [];
  let resolveAddr: (a: string) => void = () => {};
  const addr = new Promise<string>((r) => (resolveAddr = r));
  createInterface({ input: child.stderr! }).on("line", (line) => {
    logTail.push(line);
    if (logTail.length > 50) logTail.shift();
    if (/"level":"(warn|error)"/.test(line)) log(`agent: ${line}`);
    const m = /"msg":"agent listening".*"address":"([^"]+)"/.exec(line);
    if (m) resolveAddr(m[1]!);
  });
  const timeout = sleep(30_000).then(() => {
    throw new Error(`agent did not start in 30 s:\n${logTail.join("\n")}`);
  });
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`agent exited (${code}):\n${logTail.join("\n")}`))),
  );
  const address = await Promise.race([addr, timeout, exited]);
  exited.catch(() => {}); // reported by the main loop from now on
  return { child, base: `http://${address}`, logTail };
}

/** First sample value of a family (no labels or any labels) in an exposition text. */
function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

interface Row {
  t: number; // seconds since start
  rssKiB: number;
  anonKiB: number;
  heapKiB: number;
  heapTotalKiB: number;
  externalKiB: number;
  series: number;
  scrapeMs: number;
  collections: number;
  up: number;
  connections: number;
}

async function main(): Promise<number> {
  const { child, base, logTail } = await startAgent();
  const pid = child.pid!;
  // Interrupted: take the agent down with us (and report nothing: the run is incomplete).
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      child.kill("SIGTERM");
      process.exit(130);
    });
  }
  log(`agent pid ${pid} on ${base}, interval ${INTERVAL} s, ${MINUTES} min, warm-up ${WARMUP_MIN} min`);
  let exited: string | undefined;
  let stopping = false;
  child.once("exit", (code, sig) => {
    if (!stopping) exited = `agent exited (code ${code}, signal ${sig})`;
  });

  const rows: Row[] = [];
  let scrapes = 0;
  let failures = 0;
  let sawDown = 0;
  let last = { text: "", ms: 0 };
  const start = Date.now();
  const end = start + MINUTES * 60_000;
  let nextSample = start;
  const maxIterations = Math.ceil((MINUTES * 60) / SCRAPE_S) + 10; // bound on the loop, whatever the clock does
  for (let i = 0; i < maxIterations && Date.now() <= end && exited === undefined; i++) {
    const t0 = performance.now();
    try {
      const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      last = { text, ms: performance.now() - t0 };
      if (metric(text, "kvmon_libvirt_up") === 0) sawDown++;
    } catch (e) {
      failures++;
      log(`scrape failed: ${(e as Error).message}`);
    }
    scrapes++;
    if (Date.now() >= nextSample && last.text !== "") {
      const text = last.text;
      const mem = { rss: statusKiB(pid, "VmRSS"), anon: statusKiB(pid, "RssAnon") };
      const row: Row = {
        t: (Date.now() - start) / 1000,
        rssKiB: mem.rss,
        anonKiB: mem.anon,
        heapKiB: (metric(text, "nodejs_heap_size_used_bytes") ?? Number.NaN) / 1024,
        heapTotalKiB: (metric(text, "nodejs_heap_size_total_bytes") ?? Number.NaN) / 1024,
        externalKiB: (metric(text, "nodejs_external_memory_bytes") ?? Number.NaN) / 1024,
        series: text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length,
        scrapeMs: last.ms,
        collections: metric(text, "kvmon_collections_total") ?? Number.NaN,
        up: metric(text, "kvmon_libvirt_up") ?? Number.NaN,
        connections: metric(text, "kvmon_libvirt_connections_total") ?? Number.NaN,
      };
      rows.push(row);
      log(
        `t=${(row.t / 60).toFixed(1)} min rss=${(row.rssKiB / 1024).toFixed(1)} MiB anon=${(row.anonKiB / 1024).toFixed(1)} MiB heap=${(row.heapKiB / 1024).toFixed(1)} MiB ` +
          `series=${row.series} collections=${row.collections} up=${row.up} scrapes=${scrapes} failed=${failures}`,
      );
      nextSample += SAMPLE_S * 1000;
    }
    const wait = t0 + SCRAPE_S * 1000 - performance.now();
    if (wait > 0) await sleep(Math.min(wait, Math.max(0, end - Date.now())));
  }
  if (exited === undefined) {
    stopping = true;
    child.kill("SIGTERM");
    await Promise.race([new Promise((r) => child.once("exit", r)), sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }

  const mib = (k: number) => (k / 1024).toFixed(1);
  const out: string[] = [];
  out.push(
    `## kvmon agent soak: ${MINUTES} min at interval ${INTERVAL} s (${rows.at(-1)?.collections ?? 0} collections), ${new Date().toISOString()}`,
    "",
    "| t (min) | RSS (MiB) | anon (MiB) | heap used (MiB) | heap total (MiB) | external (MiB) | series | scrape (ms) | collections | libvirt up | connections |",
    "| ------: | --------: | ---------: | --------------: | ---------------: | -------------: | -----: | ----------: | ----------: | ---------: | ----------: |",
  );
  for (const r of rows) {
    out.push(
      `| ${(r.t / 60).toFixed(1)} | ${mib(r.rssKiB)} | ${mib(r.anonKiB)} | ${mib(r.heapKiB)} | ${mib(r.heapTotalKiB)} | ${mib(r.externalKiB)} | ${r.series} | ${r.scrapeMs.toFixed(1)} | ${r.collections} | ${r.up} | ${r.connections} |`,
    );
  }
  const steady = rows.filter((r) => r.t >= WARMUP_MIN * 60);
  const hours = steady.map((r) => r.t / 3600);
  const rssSlope = slope(
    hours,
    steady.map((r) => r.rssKiB),
  );
  const heapSlope = slope(
    hours,
    steady.map((r) => r.heapKiB),
  );
  const anonSlope = slope(
    hours,
    steady.map((r) => r.anonKiB),
  );
  const rssVals = steady.map((r) => r.rssKiB);
  out.push(
    "",
    `Samples after the ${WARMUP_MIN}-min warm-up: ${steady.length}; RSS min ${mib(Math.min(...rssVals))} / max ${mib(Math.max(...rssVals))} MiB.`,
    `RSS slope: ${rssSlope.toFixed(0)} KiB/hour (threshold ${MAX_SLOPE} KiB/hour); anonymous RSS slope: ${anonSlope.toFixed(0)} KiB/hour; heap-used slope: ${heapSlope.toFixed(0)} KiB/hour.`,
    `Scrapes: ${scrapes}, failed: ${failures}; scrapes that saw kvmon_libvirt_up 0: ${sawDown}; libvirt connections made: ${rows.at(-1)?.connections ?? "?"}.`,
  );
  const problems: string[] = [];
  if (exited !== undefined) problems.push(`${exited}; last log lines:\n${logTail.join("\n")}`);
  if (failures > 0) problems.push(`${failures} scrape(s) failed`);
  if (steady.length < 4) problems.push(`too few samples after warm-up (${steady.length}) to fit a slope`);
  else if (!(rssSlope <= MAX_SLOPE)) problems.push(`RSS slope ${rssSlope.toFixed(0)} KiB/h > ${MAX_SLOPE}`);
  out.push(problems.length === 0 ? "\nRESULT: PASS" : `\nRESULT: FAIL: ${problems.join("; ")}`);
  process.stdout.write(`${out.join("\n")}\n`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = await main();

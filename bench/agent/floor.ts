/**
 * bench/agent/floor.ts: what a Node process costs per interval before any of kvmon's own work, beside the agent.
 *
 *   .tools/node/bin/node bench/agent/floor.ts --help     # the options and their defaults
 *
 * Four processes run at the same time (so they share the machine's noise), each scraped once per interval over
 * a kept-alive connection, as Prometheus does with scrape_interval = the agent's interval:
 *   1. "http": node:http answering every request with a fixed body the size of the agent's /metrics;
 *   2. "http + timer": the same plus a timer firing once per interval that does nothing;
 *   3. "http + timer + bulk call": plus, on that timer, one bulk stats call (all groups, NOWAIT) through kvmon's
 *      libvirt client, the reply decoded and dropped: the three wake-ups an agent cannot avoid;
 *   4. "kvmon agent": `bin/kvmon agent` (collectors, snapshot, exposition, process metrics, hono).
 * Per process, over --intervals intervals after --warm seconds: CPU per interval of all its threads
 * (/proc/<pid>/task/<tid>/schedstat, ns; Node's threads live as long as the process) and wake-ups per interval
 * (voluntary context switches: each is a sleep the thread came back from), main thread and V8's workers apart.
 * Rows 1-3 are the floor any Node agent of this design pays on this machine; docs/agent.md#benchmarks compares it
 * with the exporter's CPU per scrape.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DomainStatsFlag, LibvirtClient } from "../../src/protocol/libvirt/index.ts";
import { benchArgs, logger } from "../lib/cli.ts";
import { threadCpu, type ThreadCpu } from "../lib/cpu.ts";
import { closeHttp, httpGet, waitFor } from "../lib/http.ts";

const opt = benchArgs("bench/agent/floor.ts", {
  numbers: { intervals: 30, interval: 10, warm: 60, port: 0, body: 0 },
  // --child VARIANT, --port, --body: internal, one floor variant spawned by this script.
  strings: { uri: "qemu:///system", child: "", kvmon: join(import.meta.dirname, "../../bin/kvmon") },
});
const INTERVAL_MS = opt.interval * 1000;
const log = logger("floor");

/** A floor variant: node:http with a fixed body, optionally a timer per interval, optionally the bulk call. */
async function runChild(variant: string): Promise<void> {
  const body = "#".repeat(opt.body);
  const server = createServer((_req, res) => {
    res.setHeader("date", new Date().toUTCString()); // as the agent does: no Date-cache timer
    res.end(body);
  });
  server.keepAliveTimeout = 120_000;
  server.listen(opt.port, "127.0.0.1");
  if (variant === "http") return;
  const client =
    variant === "call"
      ? await LibvirtClient.open(opt.uri, { readOnly: true, keepalive: false, callTimeoutMs: INTERVAL_MS })
      : null;
  const tick = () => {
    setTimeout(tick, INTERVAL_MS - (Date.now() % INTERVAL_MS));
    client
      ?.getAllDomainStats({ flags: DomainStatsFlag.NOWAIT })
      .catch((e: unknown) => log(`bulk call failed: ${(e as Error).message}`));
  };
  tick();
}

interface Subject {
  name: string;
  child: ChildProcess;
  port: number;
}

function start(name: string, variant: string, port: number, bodyBytes: number): Subject {
  const args =
    variant === "agent"
      ? [
          opt.kvmon,
          "agent",
          "--listen",
          `127.0.0.1:${port}`,
          "--interval",
          String(opt.interval),
          "--uri",
          opt.uri,
        ]
      : [
          process.execPath,
          import.meta.filename,
          "--child",
          variant,
          "--port",
          String(port),
          "--body",
          String(bodyBytes),
          "--uri",
          opt.uri,
          "--interval",
          String(opt.interval),
        ];
  const child = spawn(args[0]!, args.slice(1), { stdio: ["ignore", "ignore", "inherit"] });
  return { name, child, port };
}

const scrape = (port: number): Promise<string> => httpGet(`http://127.0.0.1:${port}/metrics`);

/** Scrapes until the body passes `ready` (30 s at most): the body. */
const untilUp = (port: number, ready: (body: string) => boolean = () => true): Promise<string> =>
  waitFor(`port ${port}`, async () => {
    const body = await scrape(port);
    return ready(body) ? body : undefined;
  });

async function main(): Promise<void> {
  const base = 19_700 + (process.pid % 200) * 4;
  const agent = start("kvmon agent", "agent", base, 0);
  // The floor variants serve a body the size of the agent's /metrics once its first collection is in.
  const bodyBytes = Buffer.byteLength(await untilUp(base, (b) => /^kvmon_domain_state_code/m.test(b)));
  const subjects = [
    start("http", "http", base + 1, bodyBytes),
    start("http + timer", "timer", base + 2, bodyBytes),
    start("http + timer + bulk call", "call", base + 3, bodyBytes),
    agent,
  ];
  try {
    for (const s of subjects) await untilUp(s.port);
    log(
      `${bodyBytes} bytes per scrape; warm-up ${opt.warm} s, then ${opt.intervals} intervals of ${opt.interval} s`,
    );
    const n = opt.intervals;
    const warmUntil = Date.now() + opt.warm * 1000;
    while (Date.now() < warmUntil) {
      for (const s of subjects) await scrape(s.port);
      await sleep(Math.min(INTERVAL_MS, warmUntil - Date.now()));
    }
    const s0 = subjects.map((s) => threadCpu(s.child.pid!));
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      for (const s of subjects) await scrape(s.port);
      await sleep(t0 + (i + 1) * INTERVAL_MS - Date.now());
    }
    const s1 = subjects.map((s) => threadCpu(s.child.pid!));
    const ms = (a: ThreadCpu, b: ThreadCpu) => ((b.ns - a.ns) / 1e6 / n).toFixed(2);
    const wk = (a: ThreadCpu, b: ThreadCpu) => ((b.wakes - a.wakes) / n).toFixed(1);
    const rows = subjects.map((s, i) => {
      const [a, b] = [s0[i]!, s1[i]!];
      const all = (x: typeof a) => ({ ns: x.main.ns + x.others.ns, wakes: x.main.wakes + x.others.wakes });
      return (
        `| ${s.name} | ${ms(all(a), all(b))} ms | ${ms(a.main, b.main)} ms | ${ms(a.others, b.others)} ms | ` +
        `${wk(all(a), all(b))} | ${wk(a.main, b.main)} |`
      );
    });
    console.log(
      [
        `### Node's floor per interval (${new Date().toISOString()}, Node ${process.versions.node}, ${opt.uri}, ` +
          `one ${bodyBytes}-byte scrape per ${opt.interval} s interval, ${n} intervals after ${opt.warm} s)`,
        "",
        "| process | CPU/interval | main thread | V8 workers | wake-ups/interval | of which main |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        ...rows,
      ].join("\n"),
    );
  } finally {
    for (const s of subjects) s.child.kill("SIGTERM");
    closeHttp();
  }
}

if (opt.child) await runChild(opt.child);
else await main();

/**
 * bench/agent/floor.ts: what a Node process costs per interval before any of kvmon's own work, beside the agent.
 *
 *   .tools/node/bin/node bench/agent/floor.ts [--intervals 30] [--interval 10] [--warm 60] [--uri qemu:///system]
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
import { readdirSync, readFileSync } from "node:fs";
import { Agent as HttpAgent, createServer, get as httpGet } from "node:http";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DomainStatsFlag, LibvirtClient } from "../../src/protocol/libvirt/index.ts";

const { values: opt } = parseArgs({
  options: {
    intervals: { type: "string", default: "30" },
    interval: { type: "string", default: "10" },
    warm: { type: "string", default: "60" },
    uri: { type: "string", default: "qemu:///system" },
    // Internal: run one floor variant (spawned by this script).
    child: { type: "string" },
    port: { type: "string" },
    body: { type: "string" },
  },
});
const INTERVAL_MS = Number(opt.interval) * 1000;
const root = join(import.meta.dirname, "../..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`[floor] ${s}\n`);

/** A floor variant: node:http with a fixed body, optionally a timer per interval, optionally the bulk call. */
async function runChild(variant: string): Promise<void> {
  const body = "#".repeat(Number(opt.body));
  const server = createServer((_req, res) => {
    res.setHeader("date", new Date().toUTCString()); // as the agent does: no Date-cache timer
    res.end(body);
  });
  server.keepAliveTimeout = 120_000;
  server.listen(Number(opt.port), "127.0.0.1");
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

interface ThreadSample {
  ns: number;
  wakes: number;
}

/** schedstat ns and voluntary context switches per thread, keyed "main" or "workers". */
function sample(pid: number): Record<"main" | "workers", ThreadSample> {
  const out = { main: { ns: 0, wakes: 0 }, workers: { ns: 0, wakes: 0 } };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let ns: number, status: string;
    try {
      ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
    } catch {
      continue; // the thread exited between readdir and read
    }
    const wakes = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    const t = Number(tid) === pid ? out.main : out.workers;
    t.ns += ns;
    t.wakes += wakes;
  }
  return out;
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
          join(root, "bin/kvmon"),
          "agent",
          "--listen",
          `127.0.0.1:${port}`,
          "--interval",
          opt.interval,
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
          opt.interval,
        ];
  const child = spawn(args[0]!, args.slice(1), { stdio: ["ignore", "ignore", "inherit"] });
  return { name, child, port };
}

const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 });
/** GET /metrics: the body. */
function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet({ host: "127.0.0.1", port, path: "/metrics", agent: keepAlive, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
    }).on("error", reject);
  });
}

/** Scrapes until the body passes `ready` (30 s at most): the body. */
async function untilUp(port: number, ready: (body: string) => boolean = () => true): Promise<string> {
  for (let i = 0; i < 150; i++) {
    try {
      const body = await scrape(port);
      if (ready(body)) return body;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`nothing ready on port ${port}`);
}

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
    const n = Number(opt.intervals);
    const warmUntil = Date.now() + Number(opt.warm) * 1000;
    while (Date.now() < warmUntil) {
      for (const s of subjects) await scrape(s.port);
      await sleep(Math.min(INTERVAL_MS, warmUntil - Date.now()));
    }
    const s0 = subjects.map((s) => sample(s.child.pid!));
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      for (const s of subjects) await scrape(s.port);
      await sleep(t0 + (i + 1) * INTERVAL_MS - Date.now());
    }
    const s1 = subjects.map((s) => sample(s.child.pid!));
    const ms = (a: ThreadSample, b: ThreadSample) => ((b.ns - a.ns) / 1e6 / n).toFixed(2);
    const wk = (a: ThreadSample, b: ThreadSample) => ((b.wakes - a.wakes) / n).toFixed(1);
    const rows = subjects.map((s, i) => {
      const [a, b] = [s0[i]!, s1[i]!];
      const all = (x: typeof a) => ({ ns: x.main.ns + x.workers.ns, wakes: x.main.wakes + x.workers.wakes });
      return (
        `| ${s.name} | ${ms(all(a), all(b))} ms | ${ms(a.main, b.main)} ms | ${ms(a.workers, b.workers)} ms | ` +
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
    keepAlive.destroy();
  }
}

if (opt.child) await runChild(opt.child);
else await main();

/**
 * bench/agent: the kvmon agent vs prometheus-libvirt-exporter vs collectd's virt plugin, on the same lab, in
 * ONE run; plus the agent's own cost per domain per interval with many domains.
 *
 *   .tools/node/bin/node bench/agent/run.ts [--rounds 20] [--scrapes 20] [--interval 2] [--paced 45]
 *       [--idle 20] [--domains 100,500,1000] [--ticks 10] [--uri qemu:///system] [--peer-test-domains N]
 *
 * Peers, each its own process, all against the same libvirtd and the same domains (the running lab guests):
 *   - kvmon: `./bin/kvmon agent --interval I` (read-only socket), collecting in the background once per
 *     interval and serving /metrics from the cached snapshot;
 *   - prometheus-libvirt-exporter (Debian 0.2): calls libvirt on every scrape (several calls per domain);
 *   - collectd (collectd-core) with only the virt plugin (Interval I) and unixsock: a "scrape" is one
 *     connection doing LISTVAL then GETVAL of every value, i.e. reading its cache, the way its own tools do.
 *     (Debian's write_prometheus.so needs libprotobuf-c1 and libmicrohttpd12, which collectd-core does not
 *     pull in; unixsock needs nothing.)
 *
 * Phases (every peer in every phase, order rotated each round so all share the machine's noise):
 *   1. idle (--idle s, twice: before and after the rounds): no scrapes. Background CPU of each peer per
 *      interval (kvmon and collectd collect; the exporter does nothing) and libvirtd's baseline CPU rate.
 *   2. burst (--rounds × --scrapes back-to-back scrapes per peer): scrape latency (median, p95, measured here,
 *      request to last byte, keep-alive connection like Prometheus), the peer's CPU per scrape with its
 *      background collections in the window subtracted (= serving only), and libvirtd's CPU per scrape beyond
 *      its idle baseline (= what each scrape makes libvirtd do).
 *   3. paced (--paced intervals): one scrape of each peer per interval, as Prometheus with
 *      scrape_interval = the agent's interval: the peer's whole CPU / scrapes = serving + one background
 *      collection. This is the headline "CPU per scrape"; the 0.5x target is checked against it.
 * CPU is each peer's cgroup (cpuacct.usage: every thread, live or exited, ns), /proc/<pid>/stat ticks where
 * no cgroup can be made; resident memory is VmRSS (and VmHWM, the peak) at the end.
 *
 * 4. Many domains, the agent in this process (collect + render, CPU from process.cpuUsage):
 *   a. libvirt's test driver behind the same libvirtd (`test+unix:///<node.xml>` with N domains): the real
 *      path (RPC, decode, collectors, snapshot, exposition), but its bulk stats carry the state group only;
 *   b. a synthetic reply: recorded real replies (src/collectors/fixtures: a lab TCG guest, and a KVM guest with
 *      its ~90 KVM counters) multiplied to N domains with their XML metadata, over an in-memory source,
 *      two recorded samples alternating so rates are computed: the collectors' and exposition's full work.
 *      RPC decode of such a reply is measured in bench/libvirt-client.
 *
 * Needs root, the lab up (`./bin/kvmon lab up`), prometheus-libvirt-exporter and collectd-core (scripts/setup.sh
 * --test-deps installs them). Only loopback traffic; every loop is bounded.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest, Agent as HttpAgent } from "node:http";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { Agent } from "../../src/agent/agent.ts";
import { renderSnapshot } from "../../src/agent/exposition.ts";
import { LibvirtSource } from "../../src/agent/libvirt-source.ts";
import { Logger, ProblemLog } from "../../src/agent/log.ts";
import { FakeSource } from "../../src/agent/testing/fake-source.ts";
import { collectors } from "../../src/collectors/registry.ts";
import { loadStats, loadXml } from "../../src/collectors/fixtures/load.ts";
import type { DomainStatsRecord, TypedParamValue } from "../../src/protocol/libvirt/types.ts";

const { values: opt } = parseArgs({
  options: {
    rounds: { type: "string", default: "20" },
    scrapes: { type: "string", default: "20" },
    interval: { type: "string", default: "2" },
    paced: { type: "string", default: "45" },
    idle: { type: "string", default: "20" },
    domains: { type: "string", default: "100,500,1000" },
    ticks: { type: "string", default: "10" },
    uri: { type: "string", default: "qemu:///system" },
    "peer-test-domains": { type: "string", default: "0" },
    "skip-peers": { type: "boolean", default: false },
  },
});
const ROUNDS = Number(opt.rounds);
const SCRAPES = Number(opt.scrapes);
const INTERVAL = Number(opt.interval);
const PACED = Number(opt.paced);
const IDLE = Number(opt.idle);
const TICKS = Number(opt.ticks);
const DOMAIN_COUNTS = opt.domains
  .split(",")
  .filter((s) => s !== "")
  .map(Number);
const PEER_TEST_DOMAINS = Number(opt["peer-test-domains"]);
/**
 * --peer-test-domains N: the peers compare on N domains of libvirt's test driver (`test+unix:///<node.xml>`,
 * behind the same libvirtd) instead of --uri: how each one's cost grows with the number of domains, beyond what
 * the lab's real guests can show. Its bulk stats carry the state group only and its per-domain calls are cheap,
 * so this measures the peers' own overhead per domain, not QEMU's.
 */
const peerNode = PEER_TEST_DOMAINS > 0 ? testDriverNode(PEER_TEST_DOMAINS) : undefined;
if (peerNode) process.once("exit", () => rmSync(peerNode.dir, { recursive: true, force: true }));
const URI = peerNode?.uri ?? opt.uri;
const root = join(import.meta.dirname, "../..");
const TICK_S = 100; // USER_HZ: /proc/<pid>/stat times are in 1/100 s on Linux
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

// ---------------------------------------------------------------------------------------------------------
// /proc helpers and statistics.

/**
 * utime+stime of a process from /proc/<pid>/stat, in ms: every thread, live or exited (collectd's unixsock
 * serves each connection on a new thread, so per-thread counters would miss its scrapes). 10 ms ticks.
 */
function statCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICK_S; // fields 14 and 15 of stat(5)
}

/**
 * Each peer runs in a cgroup of its own (cgroup v1 cpuacct, as mounted on these machines) whose
 * `cpuacct.usage` is the CPU of every thread that ever ran in it, live or exited, in ns: 10 ms ticks were
 * too coarse for a per-scrape cost of a few ms (±0.33 ms over 30 scrapes). Where the controller cannot be
 * used, /proc ticks are the fallback, and the table says which was used.
 */
const CPUACCT = "/sys/fs/cgroup/cpuacct";
const cpuGroups = new Map<number, string>();
function meterProcess(name: string, pid: number): void {
  const dir = join(CPUACCT, `kvmon-bench-${process.pid}-${name.replace(/\W+/g, "-")}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, "cgroup.procs"), String(pid));
    cpuGroups.set(pid, dir);
  } catch (e) {
    log(`${name}: no cpuacct group (${(e as Error).message}); its CPU comes from /proc ticks (10 ms)`);
  }
}
process.once("exit", () => {
  for (const dir of cpuGroups.values()) {
    try {
      rmdirSync(dir); // empty once its peer has exited
    } catch (e) {
      process.stderr.write(`[bench] cannot remove ${dir}: ${(e as Error).message}\n`);
    }
  }
});
const cpuSource = (pid: number) => (cpuGroups.has(pid) ? "cpuacct" : "/proc ticks");

/** CPU of a process in ms: its cpuacct group when it has one (ns resolution), else /proc/<pid>/stat ticks. */
function cpuMs(pid: number): number {
  const group = cpuGroups.get(pid);
  return group ? Number(readFileSync(join(group, "cpuacct.usage"), "utf8")) / 1e6 : statCpuMs(pid);
}

function status(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const median = (xs: number[]) => pct(xs, 50);
const f2 = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2)) : "—");
const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : "—");

function rotated<T>(xs: T[], round: number): T[] {
  const k = round % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (let i = 0; i < 1000 && Date.now() < end; i++) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`${what} not ready in ${ms} ms${last ? `: ${(last as Error).message}` : ""}`);
}

// ---------------------------------------------------------------------------------------------------------
// Peers.

interface Peer {
  name: string;
  pid: number;
  /** One scrape: the body (exposition text, or collectd's GETVAL lines). */
  scrape(): Promise<string>;
  /** Series in one scrape's body: [all, domain series only]. */
  series(body: string): [number, number];
  /** Background collections so far (kvmon's counter; collectd's from its interval and uptime). */
  collections(body: string): number;
  stop(): Promise<void>;
}

const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 });

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: keepAlive, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        res.statusCode === 200
          ? resolve(Buffer.concat(chunks).toString("utf8"))
          : reject(new Error(`${url}: HTTP ${res.statusCode}`)),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: timeout`)));
    req.on("error", reject);
    req.end();
  });
}

const exposSeries = (body: string, domainPrefix: string): [number, number] => {
  const lines = body.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  return [lines.length, lines.filter((l) => l.startsWith(domainPrefix)).length];
};

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  await Promise.race([new Promise((r) => child.once("exit", r)), sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

async function startKvmon(): Promise<Peer> {
  const child = spawn(
    join(root, "bin/kvmon"),
    ["agent", "--listen", "127.0.0.1:0", "--interval", String(INTERVAL), "--uri", URI],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  meterProcess("kvmon", child.pid!);
  const lines: string[] = [];
  let address: string | undefined;
  createInterface({ input: child.stderr! }).on("line", (l) => {
    if (lines.length < 100) lines.push(l);
    const m = /"msg":"agent listening".*"address":"([^"]+)"/.exec(l);
    if (m) address = m[1];
    else if (/"level":"(warn|error)"/.test(l)) log(`kvmon: ${l}`);
  });
  const base = await waitFor("kvmon agent", async () => {
    if (child.exitCode !== null) throw new Error(`kvmon exited: ${lines.join("\n")}`);
    return address ? `http://${address}` : undefined;
  });
  await waitFor("kvmon first collection", async () =>
    /^kvmon_domain_state_code/m.test(await httpGet(`${base}/metrics`)) ? true : undefined,
  );
  return {
    name: "kvmon agent",
    pid: child.pid!,
    scrape: () => httpGet(`${base}/metrics`),
    series: (b) => exposSeries(b, "kvmon_domain_"),
    collections: (b) => Number(/^kvmon_collections_total (\S+)/m.exec(b)?.[1] ?? Number.NaN),
    stop: () => stopChild(child),
  };
}

async function startExporter(): Promise<Peer> {
  const port = await freePort();
  const child = spawn(
    "/usr/bin/prometheus-libvirt-exporter",
    [`--web.listen-address=127.0.0.1:${port}`, `--libvirt.uri=${URI}`],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  meterProcess("exporter", child.pid!);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  const base = `http://127.0.0.1:${port}`;
  await waitFor("prometheus-libvirt-exporter", async () => {
    if (child.exitCode !== null) throw new Error(`exporter exited: ${err}`);
    return /^libvirt_domain_state_code/m.test(await httpGet(`${base}/metrics`)) ? true : undefined;
  });
  return {
    name: "prometheus-libvirt-exporter",
    pid: child.pid!,
    scrape: () => httpGet(`${base}/metrics`),
    series: (b) => exposSeries(b, "libvirt_domain"),
    collections: () => 0,
    stop: () => stopChild(child),
  };
}

/** One unixsock session: LISTVAL, then GETVAL of every identifier; returns the values as lines. */
function collectdRead(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const rl = createInterface({ input: sock });
    const out: string[] = [];
    let ids: string[] = [];
    let expect = -1; // lines still expected for the current command's reply
    let listing = true;
    let next = 0;
    const timer = setTimeout(() => sock.destroy(new Error("collectd read timed out")), 10_000);
    let done = false;
    const finish = (e?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      rl.close();
      sock.destroy();
      if (e) reject(e);
      else resolve(out.join("\n"));
    };
    const getNext = () => {
      if (next >= ids.length) return finish();
      sock.write(`GETVAL "${ids[next++]}"\n`);
    };
    rl.on("line", (line) => {
      if (expect < 0) {
        const n = Number(line.split(" ")[0]);
        if (!(n >= 0)) return finish(new Error(`collectd: ${line}`));
        expect = n;
      } else {
        if (listing) ids.push(line.slice(line.indexOf(" ") + 1));
        else out.push(`${ids[next - 1]} ${line}`);
        expect--;
      }
      if (expect === 0) {
        expect = -1;
        if (listing) {
          listing = false;
          ids = ids.slice(0, 100_000);
        }
        getNext();
      }
    });
    sock.on("error", finish);
    rl.on("error", finish);
    sock.on("connect", () => sock.write("LISTVAL\n"));
  });
}

async function startCollectd(dir: string): Promise<Peer> {
  const sockPath = join(dir, "collectd.sock");
  const conf = join(dir, "collectd.conf");
  writeFileSync(
    conf,
    `# generated by bench/agent/run.ts
Hostname "bench"
FQDNLookup false
BaseDir "${dir}"
PIDFile "${dir}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval ${INTERVAL}
LoadPlugin logfile
<Plugin logfile>
  LogLevel err
  File STDERR
</Plugin>
LoadPlugin virt
<Plugin virt>
  Connection "${URI}"
  RefreshInterval 60
  HostnameFormat name
  ExtraStats "cpu_util disk disk_err domain_state pcpu vcpupin disk_allocation disk_capacity disk_physical memory vcpu"
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "${sockPath}"
  SocketGroup "root"
  SocketPerms "0600"
</Plugin>
`,
  );
  const child = spawn("/usr/sbin/collectd", ["-f", "-C", conf], { stdio: ["ignore", "ignore", "pipe"] });
  meterProcess("collectd", child.pid!);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  const startedAt = Date.now();
  await waitFor("collectd values", async () => {
    if (child.exitCode !== null) throw new Error(`collectd exited: ${err}`);
    return /virt\/domain_state/.test(await collectdRead(sockPath)) ? true : undefined;
  });
  return {
    name: "collectd virt plugin",
    pid: child.pid!,
    scrape: () => collectdRead(sockPath),
    // GETVAL answers one line per data source: that is one series each (if_octets has rx and tx, ...).
    series: (b) => {
      const n = b.split("\n").filter((l) => l !== "").length;
      return [n, n];
    },
    collections: () => Math.floor((Date.now() - startedAt) / (INTERVAL * 1000)),
    stop: () => stopChild(child),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Peer phases.

function libvirtdPid(): number {
  return Number(readFileSync("/var/run/libvirtd.pid", "utf8").trim());
}

interface Acc {
  latency: number[]; // ms
  burstCpu: number; // ms
  burstScrapes: number;
  burstCollections: number;
  burstLibvirtd: number; // ms, beyond the idle baseline
  idleCpu: number;
  idleCollections: number;
  pacedCpu: number;
  pacedScrapes: number;
  series: [number, number];
  /** Domains in the peer's last scrape (kvmon only: one kvmon_domain_state_code series per domain). */
  domains: number;
}

async function idlePhase(peers: Peer[], acc: Map<Peer, Acc>, lvd: { cpu: number; s: number }): Promise<void> {
  const c0 = new Map<Peer, number>();
  for (const p of peers) {
    const body = await p.scrape();
    c0.set(p, p.collections(body));
  }
  const cpu0 = new Map(peers.map((p) => [p, cpuMs(p.pid)]));
  const l0 = cpuMs(libvirtdPid());
  const t0 = performance.now();
  await sleep(IDLE * 1000);
  const cpu1 = new Map(peers.map((p) => [p, cpuMs(p.pid)]));
  lvd.cpu += cpuMs(libvirtdPid()) - l0;
  lvd.s += (performance.now() - t0) / 1000;
  for (const p of peers) {
    const a = acc.get(p)!;
    a.idleCpu += cpu1.get(p)! - cpu0.get(p)!;
    const body = await p.scrape();
    a.idleCollections +=
      p.name === "prometheus-libvirt-exporter" ? IDLE / INTERVAL : p.collections(body) - c0.get(p)!;
  }
}

async function peerBench(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "kvmon-bench-agent-"));
  const peers: Peer[] = [];
  try {
    log("starting peers");
    peers.push(await startKvmon(), await startExporter(), await startCollectd(dir));
    const total0 = new Map(peers.map((p) => [p, { cpu: cpuMs(p.pid), ticks: statCpuMs(p.pid) }]));
    const acc = new Map<Peer, Acc>(
      peers.map((p) => [
        p,
        {
          latency: [],
          burstCpu: 0,
          burstScrapes: 0,
          burstCollections: 0,
          burstLibvirtd: 0,
          idleCpu: 0,
          idleCollections: 0,
          pacedCpu: 0,
          pacedScrapes: 0,
          series: [0, 0],
          domains: 0,
        },
      ]),
    );
    for (const p of peers) for (let i = 0; i < 5; i++) await p.scrape(); // warm-up
    const lvdIdle = { cpu: 0, s: 0 };
    log(`idle phase ${IDLE} s`);
    await idlePhase(peers, acc, lvdIdle);

    log(`burst phase: ${ROUNDS} rounds × ${SCRAPES} scrapes`);
    const lvdRate = () => lvdIdle.cpu / lvdIdle.s; // ms of libvirtd CPU per second with nobody scraping
    for (let round = 0; round < ROUNDS; round++) {
      for (const p of rotated(peers, round)) {
        const a = acc.get(p)!;
        const lpid = libvirtdPid();
        const l0 = cpuMs(lpid);
        const c0 = cpuMs(p.pid);
        const t0 = performance.now();
        let first = "";
        let last = "";
        for (let i = 0; i < SCRAPES; i++) {
          const s0 = performance.now();
          last = await p.scrape();
          a.latency.push(performance.now() - s0);
          if (i === 0) first = last;
        }
        const dt = (performance.now() - t0) / 1000;
        a.burstCpu += cpuMs(p.pid) - c0;
        a.burstLibvirtd += cpuMs(lpid) - l0 - lvdRate() * dt;
        a.burstScrapes += SCRAPES;
        a.burstCollections +=
          p.name === "collectd virt plugin" ? dt / INTERVAL : p.collections(last) - p.collections(first);
        a.series = p.series(last);
        a.domains = (last.match(/^kvmon_domain_state_code\{/gm) ?? []).length;
      }
    }

    log(`paced phase: ${PACED} intervals of ${INTERVAL} s`);
    const pc0 = new Map(peers.map((p) => [p, cpuMs(p.pid)]));
    const start = performance.now();
    for (let i = 0; i < PACED; i++) {
      for (const p of rotated(peers, i)) await p.scrape();
      const wait = start + (i + 1) * INTERVAL * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
    }
    for (const p of peers) {
      const a = acc.get(p)!;
      a.pacedCpu = cpuMs(p.pid) - pc0.get(p)!;
      a.pacedScrapes = PACED;
    }
    log(`idle phase ${IDLE} s`);
    await idlePhase(peers, acc, lvdIdle);

    const rows = peers.map((p) => {
      const a = acc.get(p)!;
      const perCollection = a.idleCollections > 0 ? a.idleCpu / a.idleCollections : 0;
      const serve = (a.burstCpu - a.burstCollections * perCollection) / a.burstScrapes;
      return {
        p,
        a,
        med: median(a.latency),
        p95: pct(a.latency, 95),
        serve,
        perCollection: p.name === "prometheus-libvirt-exporter" ? 0 : perCollection,
        idlePerInterval: a.idleCpu / Math.max(1, a.idleCollections),
        paced: a.pacedCpu / a.pacedScrapes,
        lvd: a.burstLibvirtd / a.burstScrapes,
        rss: status(p.pid, "VmRSS") / 1024,
        hwm: status(p.pid, "VmHWM") / 1024,
      };
    });
    const ref = rows.find((r) => r.p.name === "prometheus-libvirt-exporter")!;
    const crossCheck = peers
      .map((p) => {
        const t0 = total0.get(p)!;
        return `${p.name} ${(cpuMs(p.pid) - t0.cpu).toFixed(1)} ms (${cpuSource(p.pid)}, used above) / ${(statCpuMs(p.pid) - t0.ticks).toFixed(0)} ms (/proc ticks)`;
      })
      .join(", ");
    const lib = rows.find((r) => r.p.name === "kvmon agent")!;
    const out: string[] = [
      `### ${URI}, ${lib.a.domains} domains: ${ROUNDS} rounds × ${SCRAPES} back-to-back scrapes, ${PACED} paced scrapes (one per ${INTERVAL} s interval), idle ${2 * IDLE} s`,
      "",
      "| peer | scrape median | scrape p95 | CPU/scrape, paced (incl. collection) | CPU/scrape, serving only | background CPU/interval | libvirtd CPU/scrape | RSS (peak) | series (domain) |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ];
    for (const r of rows) {
      out.push(
        `| ${r.p.name} | ${f2(r.med)} ms | ${f2(r.p95)} ms | ${f2(r.paced)} ms | ${f2(r.serve)} ms | ${f2(r.idlePerInterval)} ms | ` +
          `${f2(r.lvd)} ms | ${r.rss.toFixed(1)} MiB (${r.hwm.toFixed(1)}) | ${r.a.series[0]} (${r.a.series[1]}) |`,
      );
    }
    out.push(
      "",
      "Ratios vs prometheus-libvirt-exporter (lower is better; target for kvmon: scrape latency and CPU per scrape ≤ 0.5x):",
      "",
      "| peer | latency median | latency p95 | CPU/scrape paced | CPU/scrape serving | libvirtd CPU/scrape | RSS |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const r of rows) {
      out.push(
        `| ${r.p.name} | ${ratio(r.med, ref.med)} | ${ratio(r.p95, ref.p95)} | ${ratio(r.paced, ref.paced)} | ` +
          `${ratio(r.serve, ref.serve)} | ${ratio(r.lvd, ref.lvd)} | ${ratio(r.rss, ref.rss)} |`,
      );
    }
    const met = (x: number, y: number) => (x <= 0.5 * y ? "met" : "NOT met");
    out.push(
      "",
      `kvmon vs exporter: latency median ${ratio(lib.med, ref.med)} (${met(lib.med, ref.med)}), p95 ${ratio(lib.p95, ref.p95)} ` +
        `(${met(lib.p95, ref.p95)}); CPU/scrape paced ${ratio(lib.paced, ref.paced)} (${met(lib.paced, ref.paced)}), ` +
        `serving only ${ratio(lib.serve, ref.serve)} (${met(lib.serve, ref.serve)}). libvirtd baseline with nobody ` +
        `scraping (kvmon's and collectd's background collections, and anything else on the host): ` +
        `${f2(lvdIdle.cpu / lvdIdle.s)} ms CPU/s.`,
      "",
      `CPU over the whole run, per peer: ${crossCheck}.`,
    );
    return out.join("\n");
  } finally {
    for (const p of peers) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// 4. Many domains.

function quietAgent(source: ConstructorParameters<typeof Agent>[0]["source"], clock?: () => number) {
  const logger = new Logger(() => {}, "error");
  return new Agent({
    source,
    collectors,
    intervalMs: 10_000,
    timeoutMs: 30_000,
    logger,
    problems: new ProblemLog(logger),
    clock,
  });
}

interface TickCost {
  cpu: number[]; // ms per tick (collect + render)
  wall: number[];
  series: number;
}

/** Runs `ticks` collections (plus 3 warm-up), each followed by the exposition render, as the first scrape does. */
async function measureTicks(agent: Agent, ticks: number, between?: () => void): Promise<TickCost> {
  const r: TickCost = { cpu: [], wall: [], series: 0 };
  for (let i = 0; i < ticks + 3; i++) {
    between?.();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await agent.tick();
    const snap = agent.snapshot();
    if (!snap) throw new Error(`no snapshot: ${agent.status.lastError}`);
    const text = renderSnapshot(snap, agent.collectors);
    const c = process.cpuUsage(c0);
    if (i >= 3) {
      r.cpu.push((c.user + c.system) / 1000);
      r.wall.push(performance.now() - t0);
    }
    r.series = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
    if (i === 2) await sleep(500); // let background metadata reads settle after the first collections
  }
  return r;
}

/** A test-driver node file with n domains in a new temporary directory (the caller removes it). */
function testDriverNode(n: number): { uri: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "kvmon-bench-node-"));
  const file = join(dir, "node.xml");
  writeFileSync(file, nodeXml(n));
  return { uri: `test+unix://${file}`, dir };
}

function nodeXml(n: number): string {
  const hex = (i: number) => (i & 0xff).toString(16).padStart(2, "0");
  const doms: string[] = [];
  for (let i = 0; i < n; i++)
    doms.push(
      `<domain type='test'><name>bench-${i}</name><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>` +
        `<devices><disk type='file' device='disk'><source file='/tmp/bench-${i}.img'/><target dev='vda' bus='virtio'/></disk>` +
        `<interface type='network'><mac address='52:54:00:${hex(i >> 16)}:${hex(i >> 8)}:${hex(i)}'/><source network='default'/></interface></devices></domain>`,
    );
  return `<node>\n<cpu><mode>fixed</mode><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads><active>2</active><mhz>2400</mhz><model>i686</model></cpu>\n<memory>25165824</memory>\n${doms.join("\n")}\n</node>\n`;
}

async function testDriverCost(n: number): Promise<TickCost> {
  const { uri, dir } = testDriverNode(n);
  const source = new LibvirtSource({
    uri,
    readOnly: false,
    callTimeoutMs: 30_000,
    connectTimeoutMs: 10_000,
  });
  const agent = quietAgent(source);
  try {
    source.start();
    await waitFor(`test driver (${n} domains)`, async () =>
      source.connection().connected ? true : undefined,
    );
    const r = await measureTicks(agent, TICKS);
    const domains = agent.snapshot()!.domains.length;
    if (domains !== n) throw new Error(`test driver: expected ${n} domains, got ${domains}`);
    return r;
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** N copies of a recorded record with their own name, UUID and a counter offset (so rates differ per domain). */
function multiply(rec: DomainStatsRecord, n: number, tag: string): DomainStatsRecord[] {
  const out: DomainStatsRecord[] = [];
  for (let i = 0; i < n; i++) {
    const params = new Map<string, TypedParamValue>();
    for (const [k, v] of rec.params) params.set(k, typeof v === "bigint" ? v + BigInt(i) : v);
    const uuid = `${tag}${i.toString(16).padStart(8, "0")}-0000-4000-8000-${(i * 7919).toString(16).padStart(12, "0")}`;
    out.push({ domain: { name: `${tag}-${i}`, uuid, id: i + 1 }, params });
  }
  return out;
}

async function syntheticCost(n: number, fixture: "lab-1" | "kvm-nova"): Promise<TickCost> {
  const a = multiply(loadStats(`${fixture}-1.stats`).record, n, fixture === "lab-1" ? "aaaa" : "bbbb");
  const b = multiply(loadStats(`${fixture}-2.stats`).record, n, fixture === "lab-1" ? "aaaa" : "bbbb");
  const source = new FakeSource();
  const xml = loadXml(`${fixture}.xml`);
  for (const r of a) source.xml.set(r.domain.uuid, xml);
  const clock = { now: 1_800_000_000_000 };
  const agent = quietAgent(source, () => clock.now);
  let flip = false;
  try {
    return await measureTicks(agent, TICKS, () => {
      clock.now += 10_000;
      flip = !flip;
      source.replyWith(flip ? a : b);
    });
  } finally {
    await agent.stop();
  }
}

/**
 * The agent's collection on the lab itself, in this process over qemu:///system: our CPU per collection (bulk
 * stats + listing + collectors + render) and what each collection costs libvirtd (its CPU over the ticks minus
 * its rate over an equal quiet window just before), to set against the exporter's libvirtd CPU per scrape.
 */
async function labTickCost(): Promise<string> {
  const n = 30;
  const source = new LibvirtSource({ uri: URI, readOnly: true, callTimeoutMs: 5000, connectTimeoutMs: 5000 });
  const agent = quietAgent(source);
  try {
    source.start();
    await waitFor("lab connection", async () => (source.connection().connected ? true : undefined));
    await measureTicks(agent, 3);
    const lpid = libvirtdPid();
    const q0 = cpuMs(lpid);
    const tq = performance.now();
    await sleep(10_000);
    const quietRate = (cpuMs(lpid) - q0) / (performance.now() - tq); // ms per ms
    const l0 = cpuMs(lpid);
    const t0 = performance.now();
    const r = await measureTicks(agent, n);
    const lvd = (cpuMs(lpid) - l0 - quietRate * (performance.now() - t0)) / (n + 3);
    return (
      `kvmon's collection on the lab (in-process, ${n} collections of the ${agent.snapshot()!.domains.length} lab domains, ` +
      `all collectors, + render of /metrics): CPU median ${f2(median(r.cpu))} ms, p95 ${f2(pct(r.cpu, 95))} ms; ` +
      `wall median ${f2(median(r.wall))} ms; libvirtd CPU per collection ${f2(lvd)} ms (beyond its quiet rate).`
    );
  } finally {
    await agent.stop();
  }
}

async function scaleBench(): Promise<string> {
  const out = [
    `### Agent cost per domain per interval (collect + render /metrics, this process; ${TICKS} intervals per row after 3 warm-up)`,
    "",
    "| source | domains | series | CPU/interval median | CPU/interval p95 | CPU per domain per interval | wall/interval median |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const worst: number[] = [];
  for (const [label, run] of [
    ["test driver (state only)", (n: number) => testDriverCost(n)],
    ["synthetic: lab TCG guest (lab-1)", (n: number) => syntheticCost(n, "lab-1")],
    ["synthetic: KVM guest with KVM counters (kvm-nova)", (n: number) => syntheticCost(n, "kvm-nova")],
  ] as const) {
    for (const n of DOMAIN_COUNTS) {
      log(`scale: ${label}, ${n} domains`);
      const r = await run(n);
      const perDomain = median(r.cpu) / n;
      worst.push(pct(r.cpu, 95) / n);
      out.push(
        `| ${label} | ${n} | ${r.series} | ${f2(median(r.cpu))} ms | ${f2(pct(r.cpu, 95))} ms | ` +
          `${(perDomain * 1000).toFixed(0)} µs | ${f2(median(r.wall))} ms |`,
      );
    }
  }
  const max = Math.max(...worst);
  out.push(
    "",
    `Worst p95 per domain: ${(max * 1000).toFixed(0)} µs per domain per interval: target < 1 ms ${max < 1 ? "met" : "NOT met"}.`,
  );
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------------------

const versions = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? "?").trim();
  }
};
const pkg = (name: string) => versions("dpkg-query", ["-W", "-f=${Version}", name]);
console.log(`# bench/agent (${new Date().toISOString()})\n`);
console.log(
  `kvmon (Node ${process.versions.node}), prometheus-libvirt-exporter ${pkg("prometheus-libvirt-exporter")}, ` +
    `collectd-core ${pkg("collectd-core")}, libvirt ${pkg("libvirt-daemon")}; ${versions("nproc", [])} CPUs. ` +
    `Interval ${INTERVAL} s for kvmon and collectd.\n`,
);
if (!opt["skip-peers"]) console.log(`${await peerBench()}\n`);
console.log(`${await labTickCost()}\n`);
if (DOMAIN_COUNTS.length > 0) console.log(`${await scaleBench()}\n`);
keepAlive.destroy();

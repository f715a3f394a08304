/**
 * bench/libvirt-client: kvmon's pure-TypeScript libvirt client vs the C library, side by side in ONE run.
 *
 *   .tools/node/bin/node bench/libvirt-client/run.ts --help     # the options and their defaults
 *
 * 1. The same bulk stats call (CONNECT_GET_ALL_DOMAIN_STATS, every group, flags ACTIVE|NOWAIT: the agent's
 *    call) on the same libvirtd (qemu:///system, read-write socket for all three) for the same domains (the
 *    running lab guests), by: kvmon's client (this process); python3-libvirt, i.e. the C library, in a
 *    persistent /usr/bin/python3 process (pyclient.py); and `virsh domstats` as a process (spawned by the
 *    Python helper so its CPU comes from wait4's rusage). Rounds are interleaved so all clients share the
 *    machine's noise (and the daemon's: other users of the same libvirtd), after a warm-up of each. Order
 *    within a round: the two libraries, alternating which goes first, then virsh; so each library runs right
 *    after a virsh process (whose connect, teardown and exit load the daemon and the host for a moment) in
 *    exactly half the rounds. (A plain rotation of three gave kvmon that slot in 2 rounds of 3 and the C
 *    library in 1: ~+3% on kvmon's median, an artefact of the order.) Client CPU per call: process.cpuUsage() deltas for us, time.process_time_ns()
 *    for Python (both count every thread of the process), the child's user+sys rusage for virsh. Besides the
 *    pooled median and p95, the ratio to the C library is given per round (kvmon's median over the C
 *    library's in the same round: p10 / median / p90 over the rounds) and as a bootstrap 95% interval of the
 *    ratio of medians (rounds resampled), so the noise is visible. The typed params of every reply are
 *    counted (outside the timing): with NOWAIT a domain whose job lock is busy (another client of the daemon)
 *    comes back without some groups, and faster; such partial replies are reported per client.
 * 2. Decode time of a synthetic 1000-domain bulk reply built from a bulk reply just recorded from a lab guest,
 *    its per-device groups multiplied: once every domain alike (8 vCPUs, 4 disks, 3 NICs, ~150 typed params:
 *    the decoder's positional field-name cache hits every time, a best case), once varied (4-12 vCPUs, 2-6
 *    disks, 0-6 NICs, device names that differ per domain: the cache misses from the first differing group).
 * 3. The same comparison with many domains: `test+unix:///<node.xml>` (the test driver behind the same
 *    libvirtd) holding --domains domains: listAllDomains and getAllDomainStats (the test driver's bulk stats
 *    carry the state group only).
 * Prints markdown tables (latency median/p95, CPU per call, ratios vs the C library). Needs the lab up
 * (`./bin/kvmon lab up`) and root (libvirtd's rw socket).
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { openTransport } from "../../src/protocol/libvirt/connect.ts";
import {
  DomainStatsFlag,
  type DomainStatsRecord,
  LibvirtClient,
  P,
  type TypedParamValue,
} from "../../src/protocol/libvirt/index.ts";
import {
  decodePacket,
  encodePacket,
  PacketStatus,
  PacketType,
  Program,
} from "../../src/protocol/libvirt/packet.ts";
import type { Transport, TransportHandlers } from "../../src/protocol/libvirt/transport.ts";
import { parseLibvirtUri } from "../../src/protocol/libvirt/uri.ts";
import { XdrReader } from "../../src/protocol/xdr/reader.ts";
import { benchArgs } from "../lib/cli.ts";
import { bootstrapRatio, byRound, median, nsText as ms, pct, roundRatios } from "../lib/stats.ts";
import { testDriverNode } from "../lib/test-driver.ts";

const opt = benchArgs("bench/libvirt-client/run.ts", {
  numbers: { rounds: 80, calls: 5, virsh: 1, domains: 1000 },
  strings: { uri: "qemu:///system", python: "/usr/bin/python3" },
});
const ROUNDS = opt.rounds;
const CALLS = opt.calls;
const VIRSH = opt.virsh;
const DOMAINS = opt.domains;
const URI = opt.uri;
/** NOWAIT: the agent's flag (never wait on a busy domain's job lock). With a domain list, no list filters. */
const FLAGS = DomainStatsFlag.NOWAIT;
const LAB_GUESTS = ["kvmon-lab-1", "kvmon-lab-2"];

// A GC function without needing --expose-gc on the command line (the flag must be set before the context).
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

interface Samples {
  wall: number[]; // ns
  cpu: number[]; // ns
  round: number[]; // the round of each sample
  params: number[]; // typed params per reply (bulk stats only)
}
const empty = (): Samples => ({ wall: [], cpu: [], round: [], params: [] });

// ---------------------------------------------------------------------------------------------------------
// The Python (C library) helper.

class PyClient {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  constructor(python: string) {
    this.proc = spawn(python, [join(import.meta.dirname, "pyclient.py")], { stdio: "pipe" });
    this.proc.stderr.on("data", (d: Buffer) => process.stderr.write(`[py] ${d}`));
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  async cmd<T = { wall: number[]; cpu: number[]; count: number; params: number[] }>(c: object): Promise<T> {
    this.proc.stdin.write(`${JSON.stringify(c)}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error("pyclient.py exited");
    const out = JSON.parse(r.value);
    if (out.error) throw new Error(`pyclient.py: ${out.error}`);
    return out as T;
  }
  async quit(): Promise<void> {
    await this.cmd({ op: "quit" });
    this.proc.stdin.end();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Measuring.

async function ours<T extends object>(
  fn: () => Promise<T[]>,
  n: number,
  into: Samples,
  round = 0,
): Promise<number> {
  let count = 0;
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const r = await fn();
    into.wall.push(Number(process.hrtime.bigint() - t0));
    const c = process.cpuUsage(c0);
    into.cpu.push((c.user + c.system) * 1000);
    into.round.push(round);
    count = r.length;
    // Outside the timed part, as in pyclient.py.
    let params = 0;
    for (const x of r) if ("params" in x) params += (x as unknown as DomainStatsRecord).params.size;
    if (params > 0) into.params.push(params);
  }
  return count;
}

function add(into: Samples, r: { wall: number[]; cpu: number[]; params?: number[] }, round = 0): void {
  into.wall.push(...r.wall);
  into.cpu.push(...r.cpu);
  for (let i = 0; i < r.wall.length; i++) into.round.push(round);
  if (r.params) into.params.push(...r.params);
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

function table(title: string, rows: [string, Samples][], ref: string): string {
  const base = rows.find(([n]) => n === ref)![1];
  const out = [
    `### ${title}`,
    "",
    "| client | calls | latency median | latency p95 | client CPU/call (median) | latency vs C (median / p95) | per-round latency ratio (p10 / median / p90) | ratio of medians, bootstrap 95% | CPU vs C |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const [name, s] of rows) {
    const rr = roundRatios(byRound(s.wall, s.round), byRound(base.wall, base.round));
    const [lo, hi] = bootstrapRatio(byRound(s.wall, s.round), byRound(base.wall, base.round));
    const spread =
      s === base ? "" : `${ratio(pct(rr, 10), 1)} / ${ratio(median(rr), 1)} / ${ratio(pct(rr, 90), 1)}`;
    const ci = s === base ? "" : `${ratio(lo, 1)} to ${ratio(hi, 1)}`;
    out.push(
      `| ${name} | ${s.wall.length} | ${ms(median(s.wall))} | ${ms(pct(s.wall, 95))} | ${ms(median(s.cpu))} | ` +
        `${ratio(median(s.wall), median(base.wall))} / ${ratio(pct(s.wall, 95), pct(base.wall, 95))} | ` +
        `${spread} | ${ci} | ${ratio(median(s.cpu), median(base.cpu))} |`,
    );
  }
  return out.join("\n");
}

/** "kvmon: 3 of 400 replies partial (fewer than 122 params); ..." for the bulk stats clients. */
function partials(rows: [string, Samples][]): string {
  const full = Math.max(...rows.flatMap(([, s]) => s.params));
  const parts = rows
    .filter(([, s]) => s.params.length > 0)
    .map(([n, s]) => `${n}: ${s.params.filter((p) => p < full).length} of ${s.params.length}`);
  return `Replies with fewer than the full ${full} typed params (NOWAIT skipped a busy domain's groups): ${parts.join("; ")}.`;
}

/**
 * The two libraries in alternating order per round, then the rest (virsh) last: each library runs first in
 * a round (right after the previous round's virsh) and second equally often.
 */
function balanced<T>(pair: [T, T], round: number, rest: T[] = []): T[] {
  return [...(round % 2 === 0 ? pair : [pair[1], pair[0]]), ...rest];
}

// ---------------------------------------------------------------------------------------------------------
// 1. Bulk stats on the lab.

const C_LIB = "python3-libvirt (C library)";
const KVMON = "kvmon (TypeScript)";
const VIRSH_P = "virsh domstats (process)";

async function labBench(py: PyClient, c: LibvirtClient): Promise<{ md: string; record: DomainStatsRecord }> {
  // The same domains for everyone, whatever else runs on this daemon: the lab guests, by name.
  const doms = await Promise.all(LAB_GUESTS.map((n) => c.lookupByName(n)));
  const virshArgv = ["virsh", "-c", URI, "domstats", "--raw", "--nowait", ...LAB_GUESTS];
  const call = () => c.getAllDomainStats({ stats: 0, flags: FLAGS, domains: doms });
  const pyCall = { op: "stats", n: CALLS, stats: 0, flags: FLAGS, domains: LAB_GUESTS };
  const s = { [KVMON]: empty(), [C_LIB]: empty(), [VIRSH_P]: empty() };
  // Warm up both libraries (JIT, connection, the daemon's caches).
  await ours(call, 30, empty());
  await py.cmd({ ...pyCall, n: 30 });
  await py.cmd({ op: "virsh", n: 1, argv: virshArgv });
  for (let round = 0; round < ROUNDS; round++) {
    for (const who of balanced([KVMON, C_LIB], round, [VIRSH_P])) {
      if (who === KVMON) {
        const n = await ours(call, CALLS, s[KVMON], round);
        if (n !== doms.length) throw new Error(`kvmon got ${n} records`);
      } else if (who === C_LIB) {
        const r = await py.cmd(pyCall);
        if (r.count !== doms.length) throw new Error(`python got ${r.count} records`);
        add(s[C_LIB], r, round);
      } else add(s[VIRSH_P], await py.cmd({ op: "virsh", n: VIRSH, argv: virshArgv }), round);
    }
  }
  const recs = await call();
  const params = recs.reduce((a, r) => a + r.params.size, 0);
  const title =
    `Bulk stats (CONNECT_GET_ALL_DOMAIN_STATS, all groups, NOWAIT) of ${LAB_GUESTS.join(" + ")} on ${URI}: ` +
    `${params} typed params per reply`;
  const rows: [string, Samples][] = [
    [KVMON, s[KVMON]],
    [C_LIB, s[C_LIB]],
    [VIRSH_P, s[VIRSH_P]],
  ];
  const md = `${table(title, rows, C_LIB)}\n\n${partials(rows)}`;
  return { md, record: recs[0]! };
}

/** A Transport wrapper noting when a CALL leaves and when the first bytes of the answer arrive. */
class TapTransport implements Transport {
  written = 0n;
  firstData = 0n;
  private readonly inner: Transport;
  constructor(inner: Transport) {
    this.inner = inner;
  }
  get description(): string {
    return this.inner.description;
  }
  start(h: TransportHandlers): void {
    this.inner.start({
      data: (b) => {
        if (this.firstData === 0n) this.firstData = process.hrtime.bigint();
        h.data(b);
      },
      close: (e) => h.close(e),
    });
  }
  write(b: Buffer): void {
    this.written = process.hrtime.bigint();
    this.firstData = 0n;
    this.inner.write(b);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Where kvmon's bulk-stats latency goes: our side before the CALL is written (encode, pending entry, timer),
 * the daemon (write to first reply byte: libvirtd + QEMU + the kernel), our side after (framing, decode,
 * promise resolution). Shows how much of the call a client can influence at all.
 */
async function phases(): Promise<string> {
  const tap = new TapTransport(await openTransport(parseLibvirtUri(URI), undefined, 10_000));
  const c = await LibvirtClient.open(URI, { transport: tap });
  try {
    const doms = await Promise.all(LAB_GUESTS.map((n) => c.lookupByName(n)));
    const call = () => c.getAllDomainStats({ stats: 0, flags: FLAGS, domains: doms });
    for (let i = 0; i < 20; i++) await call();
    const before: number[] = [];
    const daemon: number[] = [];
    const after: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = process.hrtime.bigint();
      await call();
      const t1 = process.hrtime.bigint();
      before.push(Number(tap.written - t0));
      daemon.push(Number(tap.firstData - tap.written));
      after.push(Number(t1 - tap.firstData));
    }
    const total = median(before) + median(daemon) + median(after);
    return (
      `kvmon's share of one call (medians of ${before.length} calls on a separate connection): ` +
      `${ms(median(before))} before the CALL is written, ${ms(median(daemon))} in the daemon (CALL written → first ` +
      `reply byte), ${ms(median(after))} after (framing, decode of the reply, promise resolution): the client's ` +
      `own part is ${((100 * (median(before) + median(after))) / total).toFixed(1)} % of the call.`
    );
  } finally {
    await c.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. Decode of a synthetic 1000-domain reply built from the recorded lab record.

/** Devices per group of one synthetic domain. */
type Shape = Record<"vcpu" | "block" | "net", number>;
const ALIKE: Shape = { vcpu: 8, block: 4, net: 3 };
/**
 * Domain i of the varied reply: 4-12 vCPUs, 2-6 disks, 0-6 NICs, in cycles of different lengths (9, 5, 7), so
 * neighbours differ; on average as many devices as ALIKE, so the two replies carry about as many params.
 */
const varied = (i: number): Shape => ({ vcpu: 4 + (i % 9), block: 2 + (i % 5), net: (3 * i) % 7 });

/**
 * Domain i built from a real record: its per-device groups (vcpu.N.*, block.N.*, net.N.*) repeated to `shape`,
 * counters offset by i; device names (strings) get the device index, and with `uniqueNames` the domain's too.
 */
function widen(
  real: Map<string, TypedParamValue>,
  i: number,
  shape: Shape,
  uniqueNames: boolean,
): Map<string, TypedParamValue> {
  const out = new Map<string, TypedParamValue>();
  const perDevice = new Map<keyof Shape, [string, TypedParamValue][]>(); // group → [suffix, value] of device 0
  for (const [k, v] of real) {
    const m = k.match(/^(vcpu|block|net)\.(\d+)\.(.+)$/);
    if (m) {
      const group = m[1] as keyof Shape;
      if (m[2] === "0") perDevice.set(group, [...(perDevice.get(group) ?? []), [m[3]!, v]]);
      continue;
    }
    if (k === "vcpu.current" || k === "vcpu.maximum") out.set(k, shape.vcpu);
    else if (k === "block.count" || k === "net.count")
      out.set(k, BigInt(shape[k.split(".")[0] as keyof Shape]));
    else out.set(k, typeof v === "bigint" ? v + BigInt(i) : v);
  }
  for (const [group, fields] of perDevice) {
    for (let d = 0; d < shape[group]; d++) {
      for (const [suffix, v] of fields) {
        const name = uniqueNames ? `${v}-${i}-${d}` : `${v}${d}`;
        const val = typeof v === "bigint" ? v + BigInt(i * 7 + d) : typeof v === "string" ? name : v;
        out.set(`${group}.${d}.${suffix}`, val);
      }
    }
  }
  return out;
}

const header = {
  program: Program.REMOTE,
  version: 1,
  procedure: P.CONNECT_GET_ALL_DOMAIN_STATS.number,
  type: PacketType.REPLY,
  serial: 1,
  status: PacketStatus.OK,
};

/** Decode timings of one synthetic 1000-domain reply: two table rows (one per scrape, back to back). */
function decodeRows(
  label: string,
  recs: DomainStatsRecord[],
): { rows: string[]; params: number; mb: number } {
  const packet = encodePacket(header, P.CONNECT_GET_ALL_DOMAIN_STATS.ret, { retStats: recs });
  // The dispatcher's path for a reply: header, then the procedure's return shape over the whole body.
  const decodeOnce = () => {
    const { body } = decodePacket(packet);
    const r = new XdrReader(body);
    const v = P.CONNECT_GET_ALL_DOMAIN_STATS.ret.decode(r);
    r.assertEnd();
    return v.retStats;
  };
  const params = recs.reduce((a, r) => a + r.params.size, 0);
  const check = decodeOnce();
  if (check.length !== recs.length || check.at(-1)!.params.size !== recs.at(-1)!.params.size)
    throw new Error(`decode bench (${label}): wrong result`);
  const measure = (gcBetween: boolean) => {
    const times: number[] = [];
    const cpus: number[] = [];
    for (let i = 0; i < 5; i++) decodeOnce(); // warm-up
    for (let i = 0; i < 40; i++) {
      if (gcBetween) gc();
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      decodeOnce();
      times.push(Number(process.hrtime.bigint() - t0));
      const cu = process.cpuUsage(c0);
      cpus.push((cu.user + cu.system) * 1000);
    }
    const verdict =
      pct(times, 95) < 50e6 ? "met (p95)" : median(times) < 50e6 ? "met (median), p95 over" : "MISSED";
    const perParam = `${(median(times) / params).toFixed(0)} ns`;
    return `${ms(pct(times, 0))} | ${ms(median(times))} | ${ms(pct(times, 95))} | ${ms(pct(times, 100))} | ${ms(median(cpus))} | ${perParam} | < 50 ms: ${verdict} |`;
  };
  return {
    rows: [`| ${label}, back to back | ${measure(false)}`, `| ${label}, one per scrape | ${measure(true)}`],
    params,
    mb: packet.length / 1e6,
  };
}

function decodeBench(record: DomainStatsRecord): string {
  const build = (shape: (i: number) => Shape, uniqueNames: boolean): DomainStatsRecord[] =>
    Array.from({ length: 1000 }, (_, i) => ({
      domain: { name: `vm-${i}`, uuid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, id: i + 1 },
      params: widen(record.params, i, shape(i), uniqueNames),
    }));
  const alike = decodeRows(
    "alike",
    build(() => ALIKE, false),
  );
  const mixed = decodeRows("varied", build(varied, true));
  return [
    `### Decode: synthetic CONNECT_GET_ALL_DOMAIN_STATS replies of 1000 domains`,
    "",
    `Built from the lab guest ${record.domain.name}'s bulk stats record just read (${record.params.size} params), its per-device groups multiplied. ` +
      `"alike": every domain with ${ALIKE.vcpu} vCPUs, ${ALIKE.block} disks and ${ALIKE.net} NICs (${alike.params} typed params, ${alike.mb.toFixed(1)} MB): ` +
      "the decoder's positional field-name cache hits on every field, a best case. " +
      `"varied": 4-12 vCPUs, 2-6 disks, 0-6 NICs per domain, device names unique per domain (${mixed.params} typed params, ${mixed.mb.toFixed(1)} MB): ` +
      "the cache misses from the first group whose size differs from the previous domain's. " +
      "Timed: packet header + reply body into 1000 records of Map<string, bigint|number|string>; 40 decodes after 5 warm-ups. " +
      '"back to back": no pause, the garbage of earlier decodes collected during later ones (the number to quote); ' +
      '"one per scrape": a full GC before each decode, outside the timed part (a best case for the collector).',
    "",
    "| decode | min | median | p95 | max | CPU (median) | median per typed param | target |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...alike.rows,
    ...mixed.rows,
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// 3. Many domains through the test driver.

async function manyBench(): Promise<string> {
  const node = testDriverNode(DOMAINS);
  const uri = node.uri;
  const c = await LibvirtClient.open(uri);
  const py2 = new PyClient(opt.python);
  try {
    await py2.cmd({ op: "open", uri });
    const list = { [KVMON]: empty(), [C_LIB]: empty() };
    const stats = { [KVMON]: empty(), [C_LIB]: empty() };
    const n1 = await ours(() => c.listAllDomains(0), 10, empty());
    const n2 = (await py2.cmd({ op: "list", n: 10, flags: 0 })).count;
    await ours(() => c.getAllDomainStats({ stats: 0, flags: 0 }), 10, empty());
    await py2.cmd({ op: "stats", n: 10, stats: 0, flags: 0 });
    if (n1 !== DOMAINS || n2 !== DOMAINS) throw new Error(`expected ${DOMAINS} domains, got ${n1} / ${n2}`);
    for (let round = 0; round < ROUNDS; round++) {
      for (const who of balanced([KVMON, C_LIB], round)) {
        if (who === KVMON) {
          await ours(() => c.listAllDomains(0), CALLS, list[KVMON], round);
          await ours(() => c.getAllDomainStats({ stats: 0, flags: 0 }), CALLS, stats[KVMON], round);
        } else {
          add(list[C_LIB], await py2.cmd({ op: "list", n: CALLS, flags: 0 }), round);
          add(stats[C_LIB], await py2.cmd({ op: "stats", n: CALLS, stats: 0, flags: 0 }), round);
        }
      }
    }
    return [
      table(
        `listAllDomains, ${DOMAINS} domains (test+unix:// node.xml, same libvirtd)`,
        [
          [KVMON, list[KVMON]],
          [C_LIB, list[C_LIB]],
        ],
        C_LIB,
      ),
      "",
      table(
        `getAllDomainStats (state group), ${DOMAINS} domains (test driver)`,
        [
          [KVMON, stats[KVMON]],
          [C_LIB, stats[C_LIB]],
        ],
        C_LIB,
      ),
    ].join("\n");
  } finally {
    await py2.quit();
    await c.close();
    node.remove();
  }
}

// ---------------------------------------------------------------------------------------------------------

const py = new PyClient(opt.python);
const c = await LibvirtClient.open(URI);
try {
  const env = await py.cmd<{ version: number; python: string }>({ op: "open", uri: URI });
  const lib = await c.libVersion();
  const { stdout: virshV } = await import("node:child_process").then((m) =>
    import("node:util").then((u) => u.promisify(m.execFile)("virsh", ["--version"])),
  );
  const nodeInfo = await c.nodeInfo();
  console.log(`# bench/libvirt-client (${new Date().toISOString()})\n`);
  console.log(
    `libvirtd ${lib}, python3-libvirt/libvirt.so ${env.version} (Python ${env.python}), virsh ${virshV.trim()}, ` +
      `Node ${process.versions.node}; host ${nodeInfo.cpus} CPUs ${nodeInfo.model}. ` +
      `${ROUNDS} interleaved rounds × ${CALLS} calls per library (${VIRSH} virsh runs per round).\n`,
  );
  const { md, record } = await labBench(py, c);
  console.log(`${md}\n`);
  console.log(`${await phases()}\n`);
  console.log(`${decodeBench(record)}\n`);
  if (DOMAINS > 0) console.log(`${await manyBench()}\n`);
} finally {
  await py.quit();
  await c.close();
}

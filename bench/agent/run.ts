/**
 * bench/agent: the kvmon agent vs prometheus-libvirt-exporter vs collectd's virt plugin, on the same lab, in
 * ONE run (compare.ts: phases and what each number includes; peers.ts, collectd.ts: the peers); then kvmon's
 * collection of the lab in process, and its cost per domain per interval with many domains (scale.ts).
 *
 *   .tools/node/bin/node bench/agent/run.ts --help     # the options and their defaults
 *
 * --kvmon LABEL=COMMAND (repeatable) runs one kvmon peer per command line instead of the default
 * `kvmon agent=./bin/kvmon`, e.g. the bundle with and without a V8 flag, side by side in the same run.
 * --peer-test-domains N compares the peers on N domains of libvirt's test driver (same libvirtd) instead of
 * --uri: how each one's cost grows with the number of domains (its bulk stats carry the state group only, so
 * this is the peers' own per-domain overhead, not QEMU's). --domains '' skips the many-domain part.
 *
 * Needs root, the lab up (`./bin/kvmon lab up`), prometheus-libvirt-exporter and collectd-core
 * (scripts/setup.sh --test-deps). Only loopback traffic; every loop is bounded.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchArgs, commandOutput, debVersion, logger, numberList } from "../lib/cli.ts";
import { closeHttp } from "../lib/http.ts";
import { testDriverNode } from "../lib/test-driver.ts";
import { startCollectd } from "./collectd.ts";
import { comparePeers } from "./compare.ts";
import { type Peer, type PeerOptions, startExporter, startKvmon } from "./peers.ts";
import { labTickCost, scaleBench } from "./scale.ts";

const root = join(import.meta.dirname, "../..");
const opt = benchArgs("bench/agent/run.ts", {
  numbers: { interval: 10, idle: 20, rounds: 10, scrapes: 20, paced: 12, slot: 3, settle: 2, ticks: 10 },
  strings: { uri: "qemu:///system", domains: "100,500,1000", "peer-test-domains": "0" },
  flags: { "skip-peers": false, "no-collectd": false },
  lists: { kvmon: [`kvmon agent=${join(root, "bin/kvmon")}`] },
});
const log = logger("bench");
const peerTestDomains = Number(opt["peer-test-domains"]);
const peerNode = peerTestDomains > 0 ? testDriverNode(peerTestDomains) : undefined;
if (peerNode) process.once("exit", () => peerNode.remove());
const uri = peerNode?.uri ?? opt.uri;

async function peerBench(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "kvmon-bench-agent-"));
  const po: PeerOptions = { uri, interval: opt.interval, log };
  const peers: Peer[] = [];
  try {
    log("starting peers");
    for (const spec of opt.kvmon) {
      const eq = spec.indexOf("=");
      if (eq <= 0) throw new Error(`--kvmon ${spec}: expected LABEL=COMMAND`);
      peers.push(await startKvmon(spec.slice(0, eq), spec.slice(eq + 1), po));
    }
    peers.push(await startExporter(po));
    if (!opt["no-collectd"]) peers.push(await startCollectd(dir, po));
    return await comparePeers(peers, { ...opt, uri, log });
  } finally {
    for (const p of peers) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`# bench/agent (${new Date().toISOString()})\n`);
console.log(
  `kvmon (Node ${process.versions.node}), prometheus-libvirt-exporter ${debVersion("prometheus-libvirt-exporter")}, ` +
    `collectd-core ${debVersion("collectd-core")}, libvirt ${debVersion("libvirt-daemon")}; ${commandOutput("nproc", [])} CPUs. ` +
    `Interval ${opt.interval} s for kvmon and collectd. kvmon peers: ${opt.kvmon.map((k) => `\`${k}\``).join(", ")}.\n`,
);
try {
  if (!opt["skip-peers"]) console.log(`${await peerBench()}\n`);
  console.log(`${await labTickCost(uri)}\n`);
  const counts = numberList(opt.domains);
  if (counts.length > 0) console.log(`${await scaleBench(counts, opt.ticks, log)}\n`);
} finally {
  closeHttp();
}

/**
 * bench/agent's comparison of the peers (peers.ts, collectd.ts) in ONE run, every phase interleaved or rotated
 * so all share the machine's noise:
 *   1. idle (--idle s, before and after the rest): nobody scrapes. Background CPU per interval of each peer
 *      (kvmon and collectd collect; the exporter does nothing).
 *   2. burst (--rounds × --scrapes back-to-back scrapes per peer, order rotated each round): scrape latency
 *      (request to last byte over a kept-alive connection, like Prometheus) and the peer's CPU per scrape with
 *      its background collections in the window subtracted (= serving only).
 *   3. paced (--paced intervals per peer, in slots of --slot intervals): one scrape per interval, as Prometheus
 *      with scrape_interval = the agent's interval. In each slot ONE peer runs and the others are paused
 *      (SIGSTOP), plus a slot with every peer paused; slots rotate each round. The peer's CPU / scrapes =
 *      serving + one background collection + its idle cost (the headline "CPU per scrape"), and libvirtd's CPU
 *      per interval in the peer's slots minus its rate with every peer paused = what that peer alone makes the
 *      daemon do per interval (for kvmon and collectd their collection, for the exporter its scrape). A slot
 *      starts --settle s after the resume, so the catch-up collection of a paused peer falls outside it: a
 *      window of n intervals then holds exactly n collections of a periodic peer.
 * CPU is each peer's cgroup (lib/cpu.ts); memory is VmRSS (and VmHWM, the peak; RssAnon / RssFile: the heap
 * and the mapped binary) at the end.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { cpuMs, cpuSource, libvirtdCpuMs, statCpuMs, statusKiB } from "../lib/cpu.ts";
import { f2, median, pct, ratio, rotated } from "../lib/stats.ts";
import type { Peer } from "./peers.ts";

export interface CompareOptions {
  uri: string;
  interval: number; // s
  idle: number; // s per idle phase
  rounds: number;
  scrapes: number;
  paced: number; // intervals per peer
  slot: number; // intervals per slot
  settle: number; // s
  log: (s: string) => void;
}

interface Acc {
  latency: number[]; // ms
  burstCpu: number; // ms
  burstScrapes: number;
  burstCollections: number;
  idleCpu: number;
  idleCollections: number;
  pacedCpu: number;
  pacedScrapes: number;
  pacedLibvirtd: number; // ms of libvirtd CPU in this peer's slots
  pacedSeconds: number;
  series: [number, number];
  domains: number;
}

const newAcc = (): Acc => ({
  latency: [],
  burstCpu: 0,
  burstScrapes: 0,
  burstCollections: 0,
  idleCpu: 0,
  idleCollections: 0,
  pacedCpu: 0,
  pacedScrapes: 0,
  pacedLibvirtd: 0,
  pacedSeconds: 0,
  series: [0, 0],
  domains: 0,
});

async function idlePhase(peers: Peer[], acc: Map<Peer, Acc>, o: CompareOptions): Promise<void> {
  const c0 = new Map<Peer, number>();
  for (const p of peers) c0.set(p, p.collections(await p.scrape()));
  const cpu0 = new Map(peers.map((p) => [p, cpuMs(p.pid)]));
  await sleep(o.idle * 1000);
  const cpu1 = new Map(peers.map((p) => [p, cpuMs(p.pid)]));
  for (const p of peers) {
    const a = acc.get(p)!;
    a.idleCpu += cpu1.get(p)! - cpu0.get(p)!;
    const body = await p.scrape();
    a.idleCollections += p.kind === "exporter" ? o.idle / o.interval : p.collections(body) - c0.get(p)!;
  }
}

async function burstPhase(peers: Peer[], acc: Map<Peer, Acc>, o: CompareOptions): Promise<void> {
  for (let round = 0; round < o.rounds; round++) {
    for (const p of rotated(peers, round)) {
      const a = acc.get(p)!;
      const c0 = cpuMs(p.pid);
      const t0 = performance.now();
      let first = "";
      let last = "";
      for (let i = 0; i < o.scrapes; i++) {
        const s0 = performance.now();
        last = await p.scrape();
        a.latency.push(performance.now() - s0);
        if (i === 0) first = last;
      }
      const dt = (performance.now() - t0) / 1000;
      a.burstCpu += cpuMs(p.pid) - c0;
      a.burstScrapes += o.scrapes;
      a.burstCollections +=
        p.kind === "collectd" ? dt / o.interval : p.collections(last) - p.collections(first);
      a.series = p.series(last);
      a.domains = (last.match(/^kvmon_domain_state_code\{/gm) ?? []).length;
    }
  }
}

/** Paced slots; returns libvirtd's CPU rate (ms per s) with every peer paused. */
async function pacedPhase(peers: Peer[], acc: Map<Peer, Acc>, o: CompareOptions): Promise<number> {
  const nobody = { lvd: 0, s: 0 };
  const slots: (Peer | undefined)[] = [...peers, undefined];
  const rounds = Math.ceil(o.paced / o.slot);
  try {
    for (let round = 0; round < rounds; round++) {
      for (const running of rotated(slots, round)) {
        for (const p of peers) if (p !== running) p.pause();
        running?.resume();
        await sleep(o.settle * 1000);
        const l0 = libvirtdCpuMs();
        const c0 = running ? cpuMs(running.pid) : 0;
        const t0 = performance.now();
        for (let i = 0; i < o.slot; i++) {
          await running?.scrape();
          const wait = t0 + (i + 1) * o.interval * 1000 - performance.now();
          if (wait > 0) await sleep(wait);
        }
        const lvd = libvirtdCpuMs() - l0;
        const s = (performance.now() - t0) / 1000;
        if (!running) {
          nobody.lvd += lvd;
          nobody.s += s;
          continue;
        }
        const a = acc.get(running)!;
        a.pacedCpu += cpuMs(running.pid) - c0;
        a.pacedScrapes += o.slot;
        a.pacedLibvirtd += lvd;
        a.pacedSeconds += s;
      }
    }
  } finally {
    for (const p of peers) p.resume();
  }
  return nobody.lvd / nobody.s;
}

/** Runs the phases on started peers (the exporter among them: the reference of every ratio); markdown. */
export async function comparePeers(peers: Peer[], o: CompareOptions): Promise<string> {
  const acc = new Map<Peer, Acc>(peers.map((p) => [p, newAcc()]));
  const total0 = new Map(peers.map((p) => [p, { cpu: cpuMs(p.pid), ticks: statCpuMs(p.pid) }]));
  for (const p of peers) for (let i = 0; i < 5; i++) await p.scrape(); // warm-up
  o.log(`idle phase ${o.idle} s`);
  await idlePhase(peers, acc, o);
  o.log(`burst phase: ${o.rounds} rounds × ${o.scrapes} scrapes`);
  await burstPhase(peers, acc, o);
  o.log(`paced phase: ${o.paced} intervals of ${o.interval} s per peer, ${o.slot} per slot`);
  const lvdNobody = await pacedPhase(peers, acc, o);
  o.log(`idle phase ${o.idle} s`);
  await idlePhase(peers, acc, o);

  const rows = peers.map((p) => {
    const a = acc.get(p)!;
    const perCollection = a.idleCollections > 0 ? a.idleCpu / a.idleCollections : 0;
    const intervals = a.pacedSeconds / o.interval;
    return {
      p,
      a,
      med: median(a.latency),
      p95: pct(a.latency, 95),
      serve: (a.burstCpu - a.burstCollections * perCollection) / a.burstScrapes,
      idlePerInterval: a.idleCpu / Math.max(1, a.idleCollections),
      paced: a.pacedCpu / a.pacedScrapes,
      lvd: (a.pacedLibvirtd - lvdNobody * a.pacedSeconds) / intervals,
      rss: statusKiB(p.pid, "VmRSS") / 1024,
      hwm: statusKiB(p.pid, "VmHWM") / 1024,
      anon: statusKiB(p.pid, "RssAnon") / 1024,
      file: statusKiB(p.pid, "RssFile") / 1024,
    };
  });
  const ref = rows.find((r) => r.p.kind === "exporter")!;
  const domains = Math.max(...rows.map((r) => r.a.domains));
  const out: string[] = [
    `### ${o.uri}, ${domains} domains: ${o.rounds} rounds × ${o.scrapes} back-to-back scrapes; ${o.paced} paced scrapes per peer (one per ${o.interval} s interval, the peer alone); idle ${2 * o.idle} s`,
    "",
    "| peer | scrape median | scrape p95 | CPU/scrape, paced (incl. collection) | CPU/scrape, serving only | background CPU/interval | libvirtd CPU/interval (paced, alone) | RSS (peak) | RSS anon + file | series (domain) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    out.push(
      `| ${r.p.name} | ${f2(r.med)} ms | ${f2(r.p95)} ms | ${f2(r.paced)} ms | ${f2(r.serve)} ms | ${f2(r.idlePerInterval)} ms | ` +
        `${f2(r.lvd)} ms | ${r.rss.toFixed(1)} MiB (${r.hwm.toFixed(1)}) | ${r.anon.toFixed(1)} + ${r.file.toFixed(1)} MiB | ` +
        `${r.a.series[0]} (${r.a.series[1]}) |`,
    );
  }
  out.push(
    "",
    "| vs prometheus-libvirt-exporter | latency median | latency p95 | CPU/scrape paced | CPU/scrape serving | libvirtd CPU/interval | RSS |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const r of rows.filter((x) => x !== ref)) {
    out.push(
      `| ${r.p.name} | ${ratio(r.med, ref.med)} | ${ratio(r.p95, ref.p95)} | ${ratio(r.paced, ref.paced)} | ` +
        `${ratio(r.serve, ref.serve)} | ${ratio(r.lvd, ref.lvd)} | ${ratio(r.rss, ref.rss)} |`,
    );
  }
  const cross = peers
    .map((p) => {
      const t0 = total0.get(p)!;
      return `${p.name} ${(cpuMs(p.pid) - t0.cpu).toFixed(1)} ms (${cpuSource(p.pid)}, used above) / ${(statCpuMs(p.pid) - t0.ticks).toFixed(0)} ms (/proc ticks)`;
    })
    .join(", ");
  out.push(
    "",
    `libvirtd with every peer paused: ${f2(lvdNobody * o.interval)} ms CPU per ${o.interval} s interval (subtracted above). ` +
      `CPU over the whole run, per peer: ${cross}.`,
  );
  return out.join("\n");
}

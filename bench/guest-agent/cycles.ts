/**
 * One guest view (GuestSource) driven cycle by cycle over a set of guests, every guest fetched at once as the
 * agent's async-source scheduler does (one call in flight per guest), with a clock of its own: each cycle moves
 * it on by exactly what makes the wanted tiers due, so which tiers run is chosen, not waited for.
 *   - "first contact": a new source: connect, guest-info, and every tier;
 *   - "full": every tier (fast, medium, slow), guest-info cached;
 *   - "fast": the fast tier alone (users, CPU, memory, load), the one that runs every interval.
 * Per cycle: wall time until the last guest answered, each guest's latency, this process's CPU
 * (process.cpuUsage: every thread, GC included), libvirtd's CPU (its threads' schedstat) minus its idle rate,
 * and the agents' CPU where they are host processes (/proc ticks, summed).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { GuestChannel } from "../../src/collectors/guest/index.ts";
import { GuestSource } from "../../src/collectors/guest/index.ts";
import type { DomainTarget } from "../../src/collectors/types.ts";
import { libvirtdCpuMs, statCpuMs } from "../lib/cpu.ts";

export type CycleKind = "first contact" | "full" | "fast";

export interface CycleSample {
  kind: CycleKind;
  wallMs: number;
  /** Per guest, ms. */
  latencyMs: number[];
  kvmonCpuMs: number;
  /** NaN when libvirtd is not on the path (socket method). */
  libvirtdCpuMs: number;
  /** Host agent processes' CPU (10 ms ticks summed), NaN when the agents are inside guests. */
  agentsCpuMs: number;
  /** Guests whose fetch did not end connected and without error, with the first error seen. */
  failed: number;
  firstError: string | null;
}

export interface CycleRunOptions {
  targets: DomainTarget[];
  channel(t: DomainTarget): GuestChannel;
  callTimeoutMs: number;
  /** Full cycles; each is followed by `fastPerFull` fast cycles. */
  rounds: number;
  fastPerFull: number;
  /** Pause between cycles, so one cycle's stragglers (GC, libvirtd threads) do not land in the next. */
  pauseMs: number;
  /** Host agent pids (socket method) whose CPU to add up. */
  agentPids?: number[];
  /** libvirtd's idle CPU rate (ms per s), subtracted over each cycle's wall time; null when libvirtd is not on the path. */
  libvirtdIdleMsPerS: number | null;
  log: (s: string) => void;
}

/** Tier periods of the bench's source: the clock steps make tiers due, so only their order matters. */
const FAST_S = 10;
const SLOW_S = 3600;

/** libvirtd's CPU rate with nobody calling it (ms per s), over `ms`. */
export async function libvirtdIdleRate(ms: number): Promise<number> {
  const c0 = libvirtdCpuMs();
  const t0 = performance.now();
  await sleep(ms);
  return (libvirtdCpuMs() - c0) / ((performance.now() - t0) / 1000);
}

const agentsCpu = (pids: number[] | undefined): number =>
  pids ? pids.reduce((sum, pid) => sum + statCpuMs(pid), 0) : Number.NaN;

export async function runCycles(o: CycleRunOptions): Promise<CycleSample[]> {
  let offsetMs = 0;
  const source = new GuestSource({
    channel: o.channel,
    tiers: { fast: FAST_S, medium: SLOW_S, slow: SLOW_S },
    callTimeoutMs: o.callTimeoutMs,
    clock: () => Date.now() + offsetMs,
  });
  const cycle = async (kind: CycleKind): Promise<CycleSample> => {
    const signal = AbortSignal.timeout(source.timeoutMs);
    const a0 = agentsCpu(o.agentPids);
    const idle = o.libvirtdIdleMsPerS;
    const l0 = idle === null ? Number.NaN : libvirtdCpuMs();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const results = await Promise.all(
      o.targets.map(async (t) => {
        const s = performance.now();
        const g = await source.fetch(t, signal);
        return { ms: performance.now() - s, g };
      }),
    );
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const libvirtd = idle === null ? Number.NaN : libvirtdCpuMs() - l0 - (idle * wallMs) / 1000;
    const bad = results.filter((r) => r.g.agent.status !== "connected" || r.g.agent.lastError !== null);
    return {
      kind,
      wallMs,
      latencyMs: results.map((r) => r.ms),
      kvmonCpuMs: (c.user + c.system) / 1000,
      libvirtdCpuMs: libvirtd,
      agentsCpuMs: agentsCpu(o.agentPids) - a0,
      failed: bad.length,
      firstError: bad[0] ? `${bad[0].g.agent.status}: ${bad[0].g.agent.lastError}` : null,
    };
  };
  const out: CycleSample[] = [];
  const record = async (kind: CycleKind) => {
    const s = await cycle(kind);
    if (s.firstError) o.log(`${kind} cycle: ${s.failed} guests failed, e.g. ${s.firstError}`);
    out.push(s);
    await sleep(o.pauseMs);
  };
  try {
    await record("first contact");
    for (let r = 0; r < o.rounds; r++) {
      offsetMs += SLOW_S * 1000; // every tier due
      await record("full");
      for (let f = 0; f < o.fastPerFull; f++) {
        offsetMs += FAST_S * 1000; // the fast tier only
        await record("fast");
      }
    }
  } finally {
    await source.close();
  }
  return out;
}

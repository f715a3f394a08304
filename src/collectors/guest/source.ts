/**
 * The guest view as an async source (collectors/types.ts DomainSource): every guest's agent read on cadence
 * tiers, only with commands its guest-info lists. The agent's scheduler calls fetch() at the fast tier's
 * interval, one call per guest at a time; fetch runs the tiers that are due and returns the guest's whole
 * current view. An absent or unresponsive agent costs nothing until its back-off (60 s doubling to 10 min)
 * passes or libvirt's AGENT_LIFECYCLE event says it connected. Anything a guest answers that the view cannot
 * use becomes that guest's `agent.lastError`, never an exception outside it.
 */
import type { DomainSample, GuestSample } from "../../model/types.ts";
import type { TypedParamValue } from "../../protocol/libvirt/index.ts";
import { type QgaClient, QgaCommands, QgaUnavailableError } from "../../protocol/qga/index.ts";
import type { MetricSpec } from "../../metrics/catalog.ts";
import { KvmonError, TimeoutError } from "../../shared/errors.ts";
import type { DomainSource, DomainTarget } from "../types.ts";
import type { GuestCall } from "./call.ts";
import { type CustomCommand, customMetricSpecs } from "./custom-config.ts";
import { exposeCustom, readCustom } from "./custom.ts";
import { cpuShares, readCpuTicks, readLoad } from "./cpu.ts";
import { readClock } from "./clock.ts";
import { readDisks } from "./disks.ts";
import { readFilesystems } from "./filesystems.ts";
import { GuestState, type Tier } from "./guest-state.ts";
import { readIdentity, readUsers } from "./identity.ts";
import { boundText } from "./limits.ts";
import { readMemory } from "./memory.ts";
import { exposeGuest, guestMetrics } from "./metrics.ts";
import { readInterfaces } from "./network.ts";
import { readVcpus } from "./vcpus.ts";

/** How the view reaches one guest's agent: through libvirt (libvirt-channel.ts) or a unix socket (socket-channel.ts). */
export interface GuestChannel {
  qga: QgaClient;
  /** DOMAIN_GET_GUEST_INFO (libvirt channels only). */
  guestInfo?: (types: number) => Promise<Map<string, TypedParamValue>>;
  /** Releases what the channel holds (a socket); called when its guest goes away or restarts. */
  close?: () => Promise<void>;
}

export interface GuestSourceOptions {
  /** Opens (lazily, once per running guest) the channel to a guest's agent. */
  channel(target: DomainTarget): GuestChannel;
  /** The guests this view reads (every one when absent); e.g. socket guests only, without libvirt. */
  accepts?(target: DomainTarget): boolean;
  /** Seconds between reads per tier. */
  tiers: Record<Tier, number>;
  /** Deadline of one agent call (peers use 1-5 s). */
  callTimeoutMs: number;
  /** First back-off after the agent was absent or unresponsive; doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  clock?: () => number;
  /** Custom commands declared in config (guest.custom), read on their tiers where the guest lists them. */
  custom?: readonly CustomCommand[];
}

const TIERS: readonly Tier[] = ["fast", "medium", "slow"];

/** The agent answered guest-info with something the view cannot use (garbage, wrong shape, an error). */
class GuestUnusableError extends KvmonError {
  override name = "GuestUnusableError";
  constructor(cause: unknown) {
    super("GUEST_AGENT_UNUSABLE", `guest-info: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/** An agent call failed in a way that ends this guest's cycle (the agent is gone, silent or unusable). */
function endsCycle(e: unknown): boolean {
  return e instanceof QgaUnavailableError || e instanceof TimeoutError || e instanceof GuestUnusableError;
}

/** Unavailable because nothing is connected (no agent), rather than connected and silent. */
function isAbsent(e: unknown): boolean {
  return (
    e instanceof QgaUnavailableError && !/not responding|unsynced|not available for now/i.test(e.message)
  );
}

export class GuestSource implements DomainSource<GuestSample> {
  readonly kind = "source";
  readonly name = "guest";
  readonly description = "inside the guest through the QEMU guest agent (opt-in: guest.enabled)";
  readonly defaultEnabled = false;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly maxBackoffMs: number;
  readonly metrics: readonly MetricSpec[];
  private readonly opts: GuestSourceOptions;
  private readonly custom: readonly CustomCommand[];
  private readonly customSpecs: ReadonlyMap<string, MetricSpec>;
  private readonly clock: () => number;
  private readonly guests = new Map<string, { state: GuestState; channel: GuestChannel; askedAt: number }>();
  private sweptAt = 0;

  constructor(opts: GuestSourceOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? Date.now;
    this.intervalMs = opts.tiers.fast * 1000;
    this.custom = opts.custom ?? [];
    // A cycle is a handful of calls (one more per custom command); the scheduler's deadline only catches a
    // channel that ignores its own.
    this.timeoutMs = Math.max(opts.callTimeoutMs * (8 + this.custom.length), 10_000);
    this.maxBackoffMs = opts.maxRetryMs ?? 600_000;
    const specs = customMetricSpecs(this.custom);
    this.customSpecs = new Map(specs.map((s) => [s.name, s]));
    this.metrics = [...guestMetrics, ...specs];
  }

  accepts(target: DomainTarget): boolean {
    return this.opts.accepts?.(target) ?? true;
  }

  /** libvirt's AGENT_LIFECYCLE: re-read guest-info on connect; on disconnect, no calls until it connects. */
  agentLifecycle(uuid: string, connected: boolean): void {
    const g = this.guests.get(uuid);
    if (!g) return;
    const st = g.state;
    st.commands = null;
    st.misses = 0;
    if (connected) {
      st.retryAt = 0;
      for (const t of TIERS) st.due[t] = 0;
    } else {
      st.status = "absent";
      st.retryAt = this.clock() + this.maxBackoffMs;
    }
  }

  /** Drops the state of guests not asked about for two longest back-offs (they went away). */
  private sweep(now: number): void {
    if (now - this.sweptAt < this.intervalMs) return;
    this.sweptAt = now;
    for (const [u, g] of this.guests) {
      if (now - g.askedAt <= 2 * this.maxBackoffMs) continue;
      this.guests.delete(u);
      void g.channel.close?.();
    }
  }

  /** Closes every guest's channel (the agent stopping). */
  async close(): Promise<void> {
    const channels = [...this.guests.values()].map((g) => g.channel);
    this.guests.clear();
    await Promise.all(channels.map((c) => c.close?.()));
  }

  async fetch(target: DomainTarget, signal: AbortSignal): Promise<GuestSample> {
    const now = this.clock();
    this.sweep(now);
    let g = this.guests.get(target.uuid);
    if (!g || g.state.id !== target.id) {
      void g?.channel.close?.(); // a restarted QEMU: a new socket, a new agent
      g = { state: new GuestState(target.id), channel: this.opts.channel(target), askedAt: now };
      this.guests.set(target.uuid, g);
    }
    g.askedAt = now;
    const { state: st, channel } = g;
    if (now < st.retryAt) return st.view(now);
    try {
      if (st.commands === null) await this.readCommands(st, channel, signal);
      st.lastError = null;
      for (const tier of TIERS) {
        if (now < st.due[tier]) continue;
        st.due[tier] = now + this.opts.tiers[tier] * 1000;
        await this.runTier(tier, st, channel, now, signal);
      }
      st.status = "connected";
      st.misses = 0;
      st.lastSeenAt = this.clock();
    } catch (e) {
      if (!endsCycle(e)) throw e; // the scheduler's abort: its deadline already counted it
      st.status = isAbsent(e) ? "absent" : "unresponsive";
      st.lastError = boundText(e instanceof Error ? e.message : String(e));
      st.commands = null; // a restarted agent may list other commands
      st.misses++;
      const base = this.opts.retryMs ?? 60_000;
      st.retryAt = now + Math.min(base * 2 ** (st.misses - 1), this.maxBackoffMs);
    }
    return st.view(this.clock());
  }

  merge(result: GuestSample, fetchedAt: number, out: DomainSample): void {
    out.guest = { ...result, sampledAt: fetchedAt };
  }

  expose(sample: DomainSample, emit: Parameters<DomainSource["expose"]>[1]): void {
    if (!sample.guest) return;
    exposeGuest(sample.guest, emit);
    exposeCustom(sample.guest.custom, this.customSpecs, emit);
  }

  /** guest-info; a reply the view cannot use ends the cycle like silence: without it no command may be sent. */
  private async readCommands(st: GuestState, channel: GuestChannel, signal: AbortSignal): Promise<void> {
    let info;
    try {
      info = await channel.qga.call(QgaCommands.info, undefined, { timeoutMs: this.opts.callTimeoutMs });
    } catch (e) {
      if (endsCycle(e) || signal.aborted) throw e;
      throw new GuestUnusableError(e);
    }
    st.version = boundText(info.version);
    st.commands = new Set(info.supported_commands.filter((c) => c.enabled).map((c) => c.name));
    st.lastSeenAt = this.clock();
  }

  private async runTier(tier: Tier, st: GuestState, channel: GuestChannel, now: number, signal: AbortSignal) {
    const truncated = new Set<string>();
    const commands = st.commands ?? new Set<string>();
    const call: GuestCall = {
      qga: channel.qga,
      has: (c) => commands.has(c),
      guestInfo: channel.guestInfo,
      timeoutMs: this.opts.callTimeoutMs,
      truncated,
    };
    const p = st.parts;
    const readers: Record<Tier, (() => Promise<void>)[]> = {
      fast: [
        async () => void (p.users = await readUsers(call)),
        async () => {
          const ticks = await readCpuTicks(call);
          p.cpu = ticks ? cpuShares(ticks, st.prevCpu) : null;
          st.prevCpu = ticks ?? undefined;
        },
        async () => void (p.memory = await readMemory(call)),
        async () => void (p.load = await readLoad(call)),
      ],
      medium: [
        async () => void (p.identity = await readIdentity(call)),
        async () => {
          const r = await readInterfaces(call, st.prevInterfaces, now);
          p.interfaces = r?.interfaces ?? null;
          st.prevInterfaces = r?.totals;
        },
        async () => void (p.vcpus = await readVcpus(call)),
        async () => void (p.clock = await readClock(call, this.clock)),
      ],
      slow: [
        async () => void (p.filesystems = await readFilesystems(call)),
        async () => {
          const r = await readDisks(call, st.prevDisks, now);
          p.disks = r?.disks ?? null;
          st.prevDisks = r?.totals;
        },
      ],
    };
    for (const [i, c] of this.custom.entries()) {
      if (c.tier !== tier) continue;
      readers[tier].push(async () => {
        const series = await readCustom(call, c);
        if (series === null) st.custom.delete(i);
        else st.custom.set(i, series);
      });
    }
    for (const read of readers[tier]) {
      if (signal.aborted) throw signal.reason;
      try {
        await read();
      } catch (e) {
        if (endsCycle(e) || signal.aborted) throw e;
        // A failed command or a reply the view cannot use: this part keeps its last value, the guest its others.
        st.lastError = boundText(e instanceof Error ? e.message : String(e));
      }
    }
    st.truncated[tier] = truncated;
  }
}

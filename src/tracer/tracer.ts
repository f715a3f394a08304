/**
 * The KVM exit tracer service (issue 12): per-domain tracing runs, switched on with a set of events and a
 * duration, off by itself at the end, on request and at close. One private tracefs instance per agent
 * (`kvmon-<pid>-agent`) exists only while some domain is traced; its events are filtered to the traced
 * domains' vCPU threads, re-resolved on a cadence (hot-plug, domain restart). A second request for a domain
 * joins its run (its end moves later, never earlier) and adds any new events to the instance: never two runs
 * fighting over one domain. Requests are serialised, so the instance is only ever changed by one at a time.
 *
 * The reader polls the per-CPU pipes (non-blocking, 16 pages per readv) every `pollMs`, sooner when the
 * last poll found a buffer filling, and counts the pages without decoding them (page-counter.ts); sized for
 * the KVM boot-sector guest's ~700 000 events/s with nothing lost (docs/kvm-tracer.md, "Reading"). Results
 * stay readable after a run ends, until the next run of that domain.
 */
import {
  type CpuPipe,
  findTracefs,
  removeStaleInstances,
  TraceInstance,
  TracefsEventMissingError,
} from "../protocol/tracefs/index.ts";
import type { DomainCounts, RecentEvent, TracerHealth, TracerStatus } from "../model/trace.ts";
import { DomainTrace } from "./domain-trace.ts";
import { TracerDomainError, TracerRequestError } from "./errors.ts";
import { type Owner, PageCounter } from "./page-counter.ts";
import { DEFAULT_PROC_PATHS, domainThreads, type ProcPaths, runningDomains } from "./vcpu-threads.ts";

/** The events of issue 12 traced by default, each only where this kernel has it (found at run time). */
export const DEFAULT_EVENTS = [
  "kvm:kvm_exit",
  "kvm:kvm_userspace_exit",
  "kvm:kvm_pio",
  "kvm:kvm_mmio",
  "kvm:kvm_msr",
  "kvm:kvm_emulate_insn",
];

export const DEFAULT_DURATION_SECONDS = 60;

export interface TracerOptions {
  /** Longest run a request may ask for (seconds); longer requests are cut to it. */
  maxDurationSeconds: number;
  /** Events kept in each domain's ring of recent events. */
  ringSize: number;
  /** Per-CPU ring-buffer size of the instance, KiB. */
  bufferKb: number;
  /** How often the pipes are read at most; sooner while a buffer fills fast (down to minPollMs). */
  pollMs?: number;
  /**
   * Longest a timer poll reads before it yields to the event loop (the rest waits for the next poll). Default:
   * no bound. An in-process tracer that shares its event loop with a UI (kvmon trace) bounds it: a
   * guest faster than the decoder then loses events (counted in eventsLost) instead of starving the UI.
   */
  pollBudgetMs?: number;
  /** The shortest poll interval, while a buffer fills fast. */
  minPollMs?: number;
  /** How often vCPU threads are re-resolved and the per-CPU loss counters read. */
  resolveMs?: number;
  paths?: ProcPaths;
  /** tracefs mount point (found when absent). */
  tracefsRoot?: string;
  /** Epoch ms. */
  clock?: () => number;
  /** Told about failures of the background work (a poll, a re-resolution); the run goes on. */
  onError?: (what: string, error: unknown) => void;
}

export interface TraceRequest {
  /** Domain names, or "all": every running domain, and those that start during the run. */
  domains: readonly string[] | "all";
  /** `system:name` or a bare kvm event name; default DEFAULT_EVENTS (those the kernel has). */
  events?: readonly string[];
  durationSeconds?: number;
}

/** "kvm_pio" -> "kvm:kvm_pio"; RangeError-free validation for the API. */
export function eventName(name: string): string {
  const full = name.includes(":") ? name : `kvm:${name}`;
  if (!/^\w+:\w+$/.test(full)) throw new TracerRequestError(`event '${name}': expected system:name`);
  return full;
}

const newHealth = (): TracerHealth => ({
  eventsRead: 0,
  eventsLost: 0,
  eventsUnmatched: 0,
  corruptPages: 0,
  cpuSeconds: 0,
  polls: 0,
});

/** The state that exists only while the instance does. */
interface Run {
  instance: TraceInstance;
  counter: PageCounter;
  pipes: CpuPipe[];
  buffer: Uint8Array;
  /** Pages one CPU's buffer holds, and the bytes of records one page holds. */
  bufferPages: number;
  dataSize: number;
  /** Traced thread id -> domain and vCPU. */
  threads: Map<number, Owner>;
  /** Events enabled in the instance (system:name). */
  events: string[];
  unavailable: string[];
  /** Overrun per CPU at the last stats read. */
  overrun: Map<number, number>;
  /** Lost counts the pages carried. */
  pageLost: number;
  /** Trace clock (mono ns) to epoch ms. */
  offsetMs: number;
  timers: NodeJS.Timeout[];
  /** The next poll, and when the last one started (performance.now()). */
  pollTimer: NodeJS.Timeout | undefined;
  lastPoll: number;
}

/**
 * Pages per read (one readv): 16 system calls fewer than reading page by page, and at most 15 pages of a
 * reader that caught up with the writer (a few records each) before the loop sees it and stops.
 */
const READ_PAGES = 16;

/** Of a CPU's buffer, how full the reader lets it get between polls at the last poll's rate. */
const POLL_FILL = 0.25;

export class Tracer {
  readonly opts: Required<Omit<TracerOptions, "tracefsRoot" | "onError">> &
    Pick<TracerOptions, "tracefsRoot" | "onError">;
  readonly #traces = new Map<string, DomainTrace>();
  readonly #threadsOf = new Map<string, Map<number, number>>();
  #run: Run | null = null;
  #allUntil: number | null = null;
  #health = newHealth();
  #expiry: NodeJS.Timeout | null = null;
  /** Requests and timer work, one after another. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(opts: TracerOptions) {
    for (const [k, v] of [
      ["maxDurationSeconds", opts.maxDurationSeconds],
      ["ringSize", opts.ringSize],
      ["bufferKb", opts.bufferKb],
    ] as const)
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`tracer ${k} ${v}`);
    this.opts = {
      pollMs: 50,
      pollBudgetMs: Infinity,
      minPollMs: 5,
      resolveMs: 2000,
      paths: DEFAULT_PROC_PATHS,
      clock: Date.now,
      ...opts,
    };
  }

  /** Removes instances a killed kvmon left behind (their buffers and events go with them); returns their names. */
  removeStale(): Promise<string[]> {
    return removeStaleInstances(this.opts.tracefsRoot);
  }

  /** Switches tracing on (or joins a running domain's run); returns the status after. */
  on(req: TraceRequest): Promise<TracerStatus> {
    return this.#serial(() => this.#on(req));
  }

  /** Switches one domain (or every domain) off; the instance goes when nothing is traced. */
  off(domain?: string): Promise<TracerStatus> {
    return this.#serial(async () => {
      const now = this.opts.clock();
      if (domain === undefined) this.#allUntil = null;
      for (const t of this.#traces.values())
        if (t.on && (domain === undefined || t.domain === domain)) this.#stop(t, now);
      await this.#retarget();
      return this.status();
    });
  }

  /** Off for good (agent stop): everything switched off, the instance removed. */
  async close(): Promise<void> {
    await this.off();
    this.#closed = true;
  }

  status(): TracerStatus {
    const run = this.#run;
    const seen = new Set<string>();
    for (const t of this.#traces.values()) if (t.on) for (const e of t.eventTotals().keys()) seen.add(e);
    return {
      on: run !== null,
      instance: run?.instance.path ?? null,
      allUntil: this.#allUntil,
      events: run?.events ?? [],
      unavailable: run?.unavailable ?? [],
      silent: (run?.events ?? []).filter((e) => !seen.has(e.slice(e.indexOf(":") + 1))),
      domains: [...this.#traces.values()].map((t) => ({
        domain: t.domain,
        on: t.on,
        startedAt: t.startedAt,
        until: t.until,
        stoppedAt: t.stoppedAt,
        vcpuThreads: Object.fromEntries(this.#threadsOf.get(t.domain) ?? []),
        total: t.total,
      })),
      health: { ...this.#health },
    };
  }

  /** A domain's counts (while on, or from its last run), or undefined when it was never traced. */
  counts(domain: string): DomainCounts | undefined {
    return this.#traces.get(domain)?.counts(this.opts.clock());
  }

  /** A domain's most recent events after `since` (epoch ms), oldest first. */
  recent(domain: string, limit: number, since?: number): RecentEvent[] | undefined {
    return this.#traces.get(domain)?.recent(limit, since);
  }

  /** The domains traced now, for /metrics. */
  active(): DomainTrace[] {
    return [...this.#traces.values()].filter((t) => t.on);
  }

  /**
   * Reads the pipes now, each CPU's in batches of READ_PAGES pages until it is empty (before a filter change
   * or the end of a run). The poll timer passes `untilEmpty` false: it also stops at a page that was not full,
   * because past that point trace_pipe_raw hands out the page the kernel is writing, a few records each time,
   * and reading on would chase the writer a page per record or two; the next poll takes them whole. Returns
   * the most pages' worth of records one CPU had.
   */
  poll(untilEmpty = true): number {
    const run = this.#run;
    if (!run) return 0;
    const t0 = process.cpuUsage();
    const h = this.#health;
    h.polls++;
    const until = performance.now() + this.opts.pollBudgetMs;
    let most = 0;
    for (const pipe of run.pipes) {
      let bytes = 0;
      for (;;) {
        const n = pipe.read(run.buffer);
        if (n === 0) break;
        const c = run.counter.count(run.buffer, n);
        bytes += c.bytes;
        h.eventsRead += c.records;
        h.eventsUnmatched += c.unmatched;
        h.corruptPages += c.corrupt;
        run.pageLost += c.lost;
        if ((c.caughtUp && !untilEmpty) || n < run.buffer.byteLength) break;
        if (!untilEmpty && performance.now() >= until) break;
      }
      most = Math.max(most, bytes / run.dataSize);
    }
    const dt = process.cpuUsage(t0);
    h.cpuSeconds += (dt.user + dt.system) / 1e6;
    h.eventsLost = run.pageLost + [...run.overrun.values()].reduce((a, b) => a + b, 0);
    return most;
  }

  /**
   * Polls after `delayMs`, then again: at the configured cadence, or sooner when the last poll's rate would
   * fill more than POLL_FILL of a CPU's buffer by then (a burst: the SeaBIOS phase, a guest in a port loop).
   */
  #schedulePoll(run: Run, delayMs: number): void {
    run.pollTimer = setTimeout(
      () =>
        this.#background("poll", async () => {
          if (this.#run !== run) return;
          const start = performance.now();
          let pages = 0;
          try {
            pages = this.poll(false);
          } finally {
            // A failed poll is reported (onError) and the next one still comes.
            const perMs = pages / Math.max(1, start - run.lastPoll);
            run.lastPoll = start;
            const fillMs = perMs > 0 ? (POLL_FILL * run.bufferPages) / perMs : Infinity;
            this.#schedulePoll(run, Math.max(this.opts.minPollMs, Math.min(this.opts.pollMs, fillMs)));
          }
        }),
      delayMs,
    );
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #on(req: TraceRequest): Promise<TracerStatus> {
    if (this.#closed) throw new TracerRequestError("the tracer is closed (agent stopping)");
    const now = this.opts.clock();
    const seconds = Math.min(req.durationSeconds ?? DEFAULT_DURATION_SECONDS, this.opts.maxDurationSeconds);
    if (!(seconds > 0))
      throw new TracerRequestError(`durationSeconds ${req.durationSeconds}: must be positive`);
    const until = now + seconds * 1000;
    const all = req.domains === "all";
    const names = all ? await runningDomains(this.opts.paths) : [...new Set(req.domains)];
    if (!all && names.length === 0) throw new TracerRequestError("name at least one domain, or all");
    // Resolve first: a domain that is not running fails the request before anything changes.
    const threads = new Map<string, Map<number, number>>();
    for (const name of names) {
      if (all) {
        // "all" means every domain KVM runs: a TCG guest has no KVM vCPU thread, and a domain may stop meanwhile.
        const t = await kvmThreadsOrNone(this.opts.paths, name);
        if (t.size > 0) threads.set(name, t);
        continue;
      }
      const t = await domainThreads(this.opts.paths, name);
      if (t.size === 0) throw new TracerDomainError(name, "has no vCPU thread named 'CPU N/KVM'");
      threads.set(name, t);
    }
    const explicit = req.events !== undefined;
    const events = (req.events ?? DEFAULT_EVENTS).map(eventName);
    if (events.length === 0) throw new TracerRequestError("events: name at least one event, or leave it out");
    await this.#ensureEvents([...new Set(events)], explicit);
    if (all) this.#allUntil = Math.max(this.#allUntil ?? 0, until);
    for (const [name, t] of threads) {
      const current = this.#traces.get(name);
      if (current?.on) current.until = Math.max(current.until, until);
      else this.#traces.set(name, new DomainTrace(name, now, until, this.opts.ringSize));
      this.#threadsOf.set(name, t);
    }
    await this.#retarget();
    return this.status();
  }

  /** Creates the instance if needed and enables the events it lacks (all or none of an explicit list). */
  async #ensureEvents(events: string[], explicit: boolean): Promise<void> {
    let run = this.#run;
    const created = run === null;
    const root = this.opts.tracefsRoot;
    const instance =
      run?.instance ??
      (await TraceInstance.create("agent", {
        root: await findTracefs(root === undefined ? undefined : [root]),
      }));
    try {
      if (created) {
        await instance.setClock("mono");
        await instance.setBufferSizeKb(this.opts.bufferKb);
      }
      const wanted = events.filter((e) => !run?.events.includes(e));
      const { missing } = await instance.available(wanted);
      if (explicit && missing.length > 0) throw new TracefsEventMissingError(missing);
      const add = wanted.filter((e) => !missing.includes(e));
      if (created && add.length === 0)
        throw new TracerRequestError(`this kernel has none of the events ${events.join(", ")}`, {
          hint: "is the kvm module loaded? (lsmod | grep kvm)",
        });
      if (add.length === 0) return;
      // Filtered to nothing traced yet (retarget sets the domains' threads next): see placeholderFilter.
      await instance.enableEvents(add, run ? [...run.threads.keys()].concat(placeholder()) : placeholder());
      const decoder = await instance.decoder();
      if (!run) {
        const mono = Number(process.hrtime.bigint()) / 1e6;
        const offsetMs = this.opts.clock() - mono;
        run = {
          instance,
          counter: new PageCounter(decoder, instance.enabled, offsetMs),
          pipes: await instance.openPipes(decoder.pageSize),
          buffer: new Uint8Array(decoder.pageSize * READ_PAGES),
          bufferPages: Math.floor((this.opts.bufferKb * 1024) / decoder.pageSize),
          dataSize: decoder.dataSize,
          threads: new Map(),
          events: [],
          unavailable: [],
          overrun: new Map(),
          pageLost: 0,
          offsetMs,
          timers: [],
          pollTimer: undefined,
          lastPoll: performance.now(),
        };
        this.#run = run;
        this.#health = newHealth();
        this.#schedulePoll(run, this.opts.pollMs);
        run.timers.push(
          setInterval(() => this.#background("resolve", () => this.#refresh()), this.opts.resolveMs),
        );
      } else {
        run.counter = new PageCounter(decoder, instance.enabled, run.offsetMs);
        run.counter.setThreads(run.threads);
      }
      run.events.push(...add);
      run.unavailable = [...new Set([...run.unavailable, ...missing])];
    } catch (e) {
      if (created && this.#run === null) await instance.close();
      throw e;
    }
  }

  /** Background work, serialised with requests; a failure is reported and the run goes on. */
  #background(what: string, fn: () => Promise<void>): void {
    void this.#serial(fn).catch((e: unknown) => this.opts.onError?.(what, e));
  }

  #stop(t: DomainTrace, now: number): void {
    t.stoppedAt = now;
    this.#threadsOf.delete(t.domain);
  }

  /**
   * Points the instance's filter at the traced domains' threads, schedules the next self-switch-off, and
   * removes the instance when nothing is traced any more (after a last read of what it holds).
   */
  async #retarget(): Promise<void> {
    const run = this.#run;
    if (!run) return;
    const active = this.active();
    if (active.length === 0 && this.#allUntil === null) {
      this.poll();
      await this.#readLoss(run).catch((e: unknown) => this.opts.onError?.("stats", e));
      this.poll();
      for (const t of run.timers) clearInterval(t);
      clearTimeout(run.pollTimer);
      if (this.#expiry) clearTimeout(this.#expiry);
      this.#expiry = null;
      // Off only once the instance is gone: a caller that sees `on: false` finds no instance left behind.
      try {
        await run.instance.close();
      } finally {
        this.#run = null;
      }
      return;
    }
    const threads = new Map<number, Owner>();
    for (const t of active)
      for (const [tid, vcpu] of this.#threadsOf.get(t.domain) ?? []) threads.set(tid, { trace: t, vcpu });
    const before = [...run.threads.keys()].sort().join();
    if ([...threads.keys()].sort().join() !== before || run.threads.size === 0) {
      // Read what the old filter let in before it changes, so those events still find their domain.
      this.poll();
      await run.instance.setPids(threads.size > 0 ? [...threads.keys()] : placeholder());
      run.threads = threads;
      run.counter.setThreads(threads);
    }
    const ends = [...active.map((t) => t.until), ...(this.#allUntil === null ? [] : [this.#allUntil])];
    if (this.#expiry) clearTimeout(this.#expiry);
    const next = Math.min(...ends);
    this.#expiry = setTimeout(
      () => this.#background("expire", () => this.#expire()),
      Math.max(0, next - this.opts.clock()),
    );
  }

  /** Switches off the domains (and the all-domains run) whose time is up. */
  async #expire(): Promise<void> {
    const now = this.opts.clock();
    if (this.#allUntil !== null && this.#allUntil <= now) this.#allUntil = null;
    for (const t of this.active()) if (t.until <= now) this.#stop(t, now);
    await this.#retarget();
  }

  /** Re-resolves the traced domains' vCPU threads (and, for "all", picks up domains that started). */
  async #refresh(): Promise<void> {
    const run = this.#run;
    if (!run) return;
    const now = this.opts.clock();
    if (this.#allUntil !== null) {
      for (const name of await runningDomains(this.opts.paths)) {
        if (this.#traces.get(name)?.on) continue;
        if ((await kvmThreadsOrNone(this.opts.paths, name)).size === 0) continue;
        this.#traces.set(name, new DomainTrace(name, now, this.#allUntil, this.opts.ringSize));
      }
    }
    for (const t of this.active()) {
      // A domain that stopped keeps its run (it may come back with a new QEMU before its end): no threads now.
      const threads = await kvmThreadsOrNone(this.opts.paths, t.domain);
      this.#threadsOf.set(t.domain, threads);
    }
    await this.#retarget();
    await this.#readLoss(run);
  }

  async #readLoss(run: Run): Promise<void> {
    for (const pipe of run.pipes) run.overrun.set(pipe.cpu, (await run.instance.stats(pipe.cpu)).overrun);
    this.#health.eventsLost = run.pageLost + [...run.overrun.values()].reduce((a, b) => a + b, 0);
  }
}

/** A domain's KVM vCPU threads, or none when it is not running (any more) or not under KVM (TCG). */
function kvmThreadsOrNone(
  paths: Parameters<typeof domainThreads>[0],
  name: string,
): Promise<Map<number, number>> {
  return domainThreads(paths, name).catch(() => new Map<number, number>());
}

/**
 * The filter while no vCPU thread is known (a domain between two QEMU processes): this agent's own pid, which
 * never runs a vCPU, so nothing is recorded. An empty filter would record every thread of the host.
 */
function placeholder(): number[] {
  return [process.pid];
}

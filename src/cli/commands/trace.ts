/**
 * `kvmon trace <vm...|--all>`: switches the KVM exit tracer on, shows a live histogram of events and exit
 * reasons per vCPU (refreshed every second: full screen on a terminal, plain lines otherwise), then a summary
 * table. The tracer is switched off on every way out: the end of --duration, Ctrl-C (SIGINT), SIGTERM, SIGHUP,
 * an error, and a lost agent (then the agent's own duration limit, ours plus a small margin, is the last
 * guard; in-process, a killed run's instance is removed by the next start).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Writable } from "node:stream";
import {
  DEFAULT_EVENTS,
  type DomainCounts,
  type RecentEvent,
  type TracerStatus,
} from "../../tracer/index.ts";
import { accessHelp, accessOptions, pickRoute } from "../access.ts";
import { type CliIo, type Command, intFlag, parseCommandArgs } from "../command.ts";
import { durationFlag } from "../duration.ts";
import { CliError, UsageError } from "../errors.ts";
import { agentBackend, localBackend, type TraceBackend } from "../trace-backends.ts";
import {
  type ExitSignal,
  EXIT_SIGNALS,
  REDRAW,
  type SignalHub,
  TerminalSession,
  trapExitSignals,
  useColour,
} from "../terminal.ts";
import {
  renderLive,
  renderLog,
  renderPlain,
  renderSummary,
  rowRates,
  type TraceFrame,
} from "../trace-view.ts";

/** Added to the duration the tracer is asked for: it ends the run by itself if we cannot. */
export const DURATION_MARGIN_SECONDS = 3;

const help = () =>
  `Usage: kvmon trace <vm...> [options]
       kvmon trace --all [options]

Switches the KVM exit tracer on for the VMs (or --all: every VM KVM runs, and those that start meanwhile),
shows a live histogram of events per second per vCPU, event, exit reason and target (the port, MMIO address
or MSR), refreshed every second like 'perf kvm stat live' (full screen on a terminal; one plain line per VM and
refresh otherwise), and prints a summary table at the end. The tracer is always switched off when kvmon trace
ends: at the end of --duration, on Ctrl-C, SIGTERM, SIGHUP, an error or a lost agent (the tracer is asked for
the duration plus ${DURATION_MARGIN_SECONDS} s, so it also ends by itself when kvmon is killed).

Events (default: those of ${DEFAULT_EVENTS.map((e) => e.slice(4)).join(", ")}
this kernel has): an event that is enabled but never fires is listed as silent: on a host whose KVM does not
fire kvm_exit (kvm_pvm) its zero is not the truth. Only KVM guests are traced (a TCG guest has no KVM vCPU).

Options:
  --all                     every VM KVM runs
  --duration <duration>     how long (default 10s; the agent cuts it to its own maximum, 600 s by default)
  --events <list>           events, e.g. kvm_pio,kvm_mmio,kvm_msr (bare names are kvm:...)
  --refresh <duration>      refresh of the live view (default 1s)
  --log                     after the summary, the recent-event ring (the last events with details)
  --log-limit <n>           events the log prints per VM (default 100, at most 65536)
  --json                    the final counts as JSON on stdout (the live view goes to stderr)
${accessHelp}
  -h, --help                this help

Examples:
  kvmon trace web-1                       10 s live, then the summary
  kvmon trace --all --duration 1m --events kvm_pio,kvm_mmio
  kvmon trace web-1 --duration 5s --json | jq '.domains[0].rows[:5]'
  kvmon trace web-1 --log --log-limit 20
`;

const options = {
  ...accessOptions,
  all: { type: "boolean" },
  duration: { type: "string" },
  events: { type: "string" },
  refresh: { type: "string" },
  log: { type: "boolean" },
  "log-limit": { type: "string" },
  json: { type: "boolean" },
} as const;

export function parseTraceArgs(argv: string[]) {
  const { values, positionals } = parseCommandArgs("trace", argv, options);
  if (values.all && positionals.length > 0) throw new UsageError("trace: name VMs or give --all, not both");
  if (!values.all && positionals.length === 0) throw new UsageError("trace: name a VM, or give --all");
  const events = values.events
    ?.split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  for (const e of events ?? [])
    if (!/^(?:\w+:)?\w+$/.test(e))
      throw new UsageError(`trace: --events: '${e}' is not an event name (kvm_pio)`);
  return {
    domains: values.all ? ("all" as const) : [...new Set(positionals)],
    durationMs: durationFlag("duration", values.duration, 10_000, { minMs: 1000, maxMs: 86_400_000 }),
    refreshMs: durationFlag("refresh", values.refresh, 1000, { minMs: 200, maxMs: 60_000 }),
    events: events && events.length > 0 ? events : undefined,
    log: values.log === true,
    logLimit: intFlag("log-limit", values["log-limit"], 100, 1, 65536),
    json: values.json === true,
    flags: values,
  };
}

export interface TraceStreams {
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  env: NodeJS.ProcessEnv;
  signals?: SignalHub;
}

type Ended = { kind: "duration" } | { kind: "tracer-off" } | { kind: "signal"; signal: ExitSignal };

export async function runTrace(argv: string[], io: CliIo, s: TraceStreams): Promise<number> {
  const args = parseTraceArgs(argv);
  const route = await pickRoute(args.flags, s.env);
  const asked = Math.ceil(args.durationMs / 1000) + DURATION_MARGIN_SECONDS;
  const backend = route.kind === "agent" ? agentBackend(route.agent) : await localBackend(args.flags, asked);
  const live = args.json ? s.stderr : s.stdout;
  const tty = live.isTTY === true;
  const stop = new AbortController();
  let signal: ExitSignal | null = null;
  // Trapped until the tracer is off: a second Ctrl-C must not cut the switch-off short.
  const release = trapExitSignals((sig) => {
    signal ??= sig;
    stop.abort();
  }, s.signals);
  const terminal = new TerminalSession({ input: {}, output: live, altScreen: true, hub: s.signals }).enter();
  let on: TracerStatus | null = null;
  let lastOn: TracerStatus | null = null;
  const finals = new Map<string, DomainCounts>();
  let failure: unknown;
  let ended: Ended = { kind: "duration" };
  try {
    on = await backend.on({ domains: args.domains, events: args.events, durationSeconds: asked });
    lastOn = on;
    ended = await watch(backend, args, on, live, tty, useColour(live, s.env), stop.signal, finals, (st) => {
      lastOn = st;
    });
    if (signal) ended = { kind: "signal", signal };
  } catch (e) {
    failure = e;
  } finally {
    terminal.restore();
    if (on) {
      try {
        await backend.off(args.domains);
      } catch (e) {
        failure ??= new CliError(`could not switch the tracer off: ${(e as Error).message}`, {
          code: "TRACE_OFF_FAILED",
          hint: `its duration limit (${asked} s from the start) switches it off by itself`,
          cause: e,
        });
      }
      for (const name of [...finals.keys()]) {
        const final = await backend.counts(name).catch(() => null);
        if (final) finals.set(name, final);
      }
    }
    const logs = new Map<string, RecentEvent[]>();
    if (args.log && on)
      for (const name of finals.keys())
        logs.set(name, await backend.recent(name, args.logLimit).catch(() => []));
    await backend.close().catch(() => undefined);
    release();
    if (on) {
      const domains = [...finals.values()];
      const last = lastOn as TracerStatus | null;
      const silent = last?.silent ?? [];
      const eventsLost = last?.health.eventsLost ?? 0;
      if (args.json) {
        const log = args.log ? { log: Object.fromEntries(logs) } : {};
        io.out(`${JSON.stringify({ via: backend.via, silent, eventsLost, domains, ...log }, null, 2)}\n`);
      } else {
        io.out(renderSummary(domains, { silent, eventsLost }, useColour(s.stdout, s.env)));
        for (const [name, events] of logs) io.out(renderLog(name, events));
      }
      if (ended.kind === "tracer-off")
        io.err(
          "kvmon: the tracer ended the run before --duration (its duration limit, or switched off elsewhere)\n",
        );
    }
  }
  if (failure !== undefined) {
    if (failure instanceof CliError && failure.code === "AGENT_UNREACHABLE")
      throw new CliError(`lost the agent while tracing: ${failure.message}`, {
        code: failure.code,
        hint: `the agent's duration limit (${asked} s from the start) switches the tracer off`,
        cause: failure,
      });
    throw failure;
  }
  return ended.kind === "signal" ? EXIT_SIGNALS[ended.signal] : 0;
}

/** The refresh loop; returns why it ended. `finals` holds each traced domain's last counts. */
async function watch(
  backend: TraceBackend,
  args: ReturnType<typeof parseTraceArgs>,
  on: TracerStatus,
  live: TraceStreams["stdout"],
  tty: boolean,
  colour: boolean,
  abort: AbortSignal,
  finals: Map<string, DomainCounts>,
  onStatus: (s: TracerStatus) => void,
): Promise<Ended> {
  const started = performance.now();
  let last = started;
  const traced = (st: TracerStatus) =>
    args.domains === "all" ? st.domains.filter((d) => d.on).map((d) => d.domain) : args.domains;
  let names = traced(on);
  for (;;) {
    const left = started + args.durationMs - performance.now();
    try {
      await sleep(Math.max(0, Math.min(args.refreshMs, left)), undefined, { signal: abort });
    } catch {
      return { kind: "signal", signal: "SIGINT" }; // the caller replaces it with the signal that came
    }
    const status = await backend.status();
    const now = performance.now();
    const ours =
      args.domains === "all" ? status.domains : status.domains.filter((d) => names.includes(d.domain));
    if (status.on) onStatus(status);
    names = [...new Set([...names, ...traced(status)])];
    const rates = new Map<string, Map<string, number>>();
    for (const name of names) {
      const counts = await backend.counts(name);
      if (!counts) continue;
      rates.set(name, rowRates(finals.get(name), counts, (now - last) / 1000));
      finals.set(name, counts);
    }
    last = now;
    const frame: TraceFrame = {
      elapsed: (now - started) / 1000,
      duration: args.durationMs / 1000,
      via: backend.via,
      domains: [...finals.values()],
      rates,
      silent: status.silent,
    };
    live.write(
      tty
        ? REDRAW + renderLive(frame, { width: live.columns ?? 100, height: live.rows ?? 40, colour })
        : `${renderPlain(frame)}\n`,
    );
    if (now - started >= args.durationMs) return { kind: "duration" };
    if (ours.length > 0 && ours.every((d) => !d.on)) return { kind: "tracer-off" };
  }
}

export const traceCommand: Command = {
  name: "trace",
  summary: "live histogram of a VM's KVM exits and events per vCPU, then a summary",
  help,
  handler: (argv, io) =>
    runTrace(argv, io, { stdout: process.stdout, stderr: process.stderr, env: process.env }),
};

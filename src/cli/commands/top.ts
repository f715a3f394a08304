/**
 * `kvmon top`: every VM of the host, live (virt-top's keys), or in batch for scripts and logs. Reads the fleet
 * view (src/cli/view): the local agent when one answers, else an in-process collection through the agent's
 * own collectors; the first line says which.
 */
import { appendFileSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { colorsEnabled } from "../colors.ts";
import type { Command, CliIo } from "../command.ts";
import { intFlag, parseCommandArgs } from "../command.ts";
import { UsageError } from "../errors.ts";
import { CSV_HEADER, csvRows, snapshotJson } from "../top/batch.ts";
import { drawBlocks } from "../top/blocks.ts";
import { composeFrame } from "../top/frame.ts";
import { handleKey, initialState, splitKeys, type TopState } from "../top/keys.ts";
import {
  delayFlag,
  FLEET_FLAGS_HELP,
  fleetFlags,
  sortFlag,
  stateFlag,
  VIEW_FLAGS_HELP,
  viewFlags,
} from "../top/options.ts";
import { filterDomains, type Filter } from "../top/table.ts";
import { openFullScreen } from "../terminal.ts";
import { openViewSource, viewTarget } from "../view/open.ts";
import type { ViewSnapshot, ViewSource } from "../view/types.ts";

const help = () => `Usage: kvmon top [options]

Every VM of the host (with --server: of the fleet, each with its host) in a table refreshed every few seconds: state, CPU % (host view; in-guest when the
agent's guest view is on), vCPU steal, memory used/total (the guest's own figures when available), disk
read/write bytes and ops per second, network rx/tx bytes per second, KVM exits per second.

Options:
  -d, --delay <seconds>   refresh interval (default 3)
  -o, --sort <key>        sort column: cpu, guestcpu, steal, mem, memtotal, rd, wr, rdops, wrops, rx, tx,
                          exits, time, name, state (or P, M, T, N); default cpu
  --filter <pattern>      only VMs whose name contains it (or matches it as a glob: 'web-*')
  --state <state>         only VMs in this state: running, paused, shutoff, ..., active, inactive
  --once                  one refresh, then exit (with --json: one snapshot as JSON)
  --json                  with --once: the table's numbers as JSON, units in the field names
  -b, --batch             plain-text frames, one per refresh, no escape codes (for logs and pipes)
  -n, --iterations <N>    batch/blocks: stop after N refreshes
  --csv <file>            also append a row per VM per refresh to <file> (header once, when the file is new)
  --blocks                one block per VM (network per interface, memory, CPU total and per vCPU), for
                          narrow terminals and logs
${VIEW_FLAGS_HELP}
${FLEET_FLAGS_HELP}
  -h, --help              this help

Keys (full screen): P M T N sort by CPU, memory, time, name; F pick the sort column; 1 2 3 per-vCPU,
per-disk, per-NIC views (0 or the same key again: back); / filter by name; s cycle the state filter;
h help; q quit.

Without a terminal (stdout not a TTY) top runs in batch mode. Colours only on a terminal and never with NO_COLOR.

Examples:
  kvmon top                               live table, sorted by CPU
  kvmon top -d 1 -o mem --state running   every second, by memory, running VMs only
  kvmon top --once --json | jq '.vms[] | {name, cpuPercent}'
  kvmon top -b -n 3 -d 5 > top.log        three frames, five seconds apart
  kvmon top -b --csv /var/log/vms.csv     log a row per VM every 3 s
  kvmon top --blocks -n 1                 each VM's network, memory and CPU, once
  kvmon top --server https://kvmon:9478   every host's VMs (KVMON_TOKEN or --token-file: a viewer token)
`;

const options = {
  delay: { type: "string", short: "d" },
  sort: { type: "string", short: "o" },
  filter: { type: "string" },
  state: { type: "string" },
  once: { type: "boolean" },
  json: { type: "boolean" },
  batch: { type: "boolean", short: "b" },
  iterations: { type: "string", short: "n" },
  csv: { type: "string" },
  blocks: { type: "boolean" },
  ...viewFlags,
  ...fleetFlags,
} as const;

interface TopOptions {
  delayMs: number;
  sortKey: string;
  filter: Filter;
  iterations: number | null;
  csv: string | null;
}

function csvSink(path: string | null): ((snap: ViewSnapshot, o: TopOptions) => void) | null {
  if (path === null) return null;
  let fresh = true;
  try {
    fresh = statSync(path).size === 0;
  } catch {
    // no file yet: it gets the header
  }
  return (snap, o) => {
    appendFileSync(path, (fresh ? CSV_HEADER : "") + csvRows(snap, o.filter, o.sortKey));
    fresh = false;
  };
}

/** Stops a batch loop on SIGINT/SIGTERM (the refresh in progress finishes, its output is written). */
function stopSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    },
  };
}

async function runBatch(
  source: ViewSource,
  o: TopOptions,
  render: (snap: ViewSnapshot) => string,
  io: CliIo,
): Promise<number> {
  const csv = csvSink(o.csv);
  const { signal, dispose } = stopSignal();
  try {
    for (let i = 0; o.iterations === null || i < o.iterations; i++) {
      if (i > 0) await sleep(o.delayMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      const snap = await source.snapshot();
      csv?.(snap, o);
      io.out(render(snap));
    }
  } finally {
    dispose();
  }
  return 0;
}

async function runFullScreen(source: ViewSource, o: TopOptions, color: boolean): Promise<number> {
  const screen = openFullScreen(process.stdin, process.stdout);
  const csv = csvSink(o.csv);
  let state: TopState = initialState(o.sortKey, o.filter);
  let last: ViewSnapshot | null = null;
  let error: string | null = null;
  let timer: NodeJS.Timeout | null = null;
  const redraw = () => {
    const { width, height } = screen.size();
    if (!last) {
      screen.draw([
        `kvmon top: reading ${source.kind === "local" ? `${source.origin} (two samples, ${o.delayMs / 1000}s apart)` : source.origin}...`,
        error ?? "",
      ]);
      return;
    }
    screen.draw(composeFrame(last, state, { width, height, color, error, delaySeconds: o.delayMs / 1000 }));
  };
  try {
    return await new Promise<number>((resolve) => {
      const finish = () => {
        if (timer) clearTimeout(timer);
        timer = null;
        process.off("SIGINT", finish);
        process.off("SIGTERM", finish);
        resolve(0);
      };
      const refresh = async () => {
        try {
          last = await source.snapshot();
          error = null;
          csv?.(last, { ...o, filter: state.filter, sortKey: state.sortKey });
        } catch (e) {
          error = (e as Error).message;
        }
        if (state.quit) return;
        redraw();
        timer = setTimeout(() => void refresh(), o.delayMs);
      };
      process.on("SIGINT", finish);
      process.on("SIGTERM", finish);
      screen.onResize(redraw);
      screen.onInput((text) => {
        for (const key of splitKeys(text)) {
          state = handleKey(state, key);
          if (state.quit) return finish();
        }
        redraw();
      });
      redraw();
      void refresh();
    });
  } finally {
    screen.restore();
  }
}

export const topCommand: Command = {
  name: "top",
  summary: "every VM live: CPU, steal, memory, disk, network, KVM exits (virt-top's keys; batch, CSV, JSON)",
  help,
  handler: async (argv, io) => {
    const { values, positionals } = parseCommandArgs("top", argv, options);
    if (positionals.length > 0) throw new UsageError(`top: unexpected argument '${positionals[0]}'`);
    if (values.json && !values.once) throw new UsageError("top: --json needs --once (one snapshot)");
    const o: TopOptions = {
      delayMs: delayFlag(values.delay, 3) * 1000,
      sortKey: sortFlag(values.sort),
      filter: { name: values.filter ?? null, state: stateFlag(values.state) },
      iterations: values.once
        ? 1
        : values.iterations === undefined
          ? null
          : intFlag("iterations", values.iterations, 1),
      csv: values.csv ?? null,
    };
    const source = await openViewSource(viewTarget(values, process.env, o.delayMs, { fleet: true }));
    try {
      if (values.json) {
        return await runBatch(
          source,
          o,
          (s) => `${JSON.stringify(snapshotJson(s, o.filter, o.sortKey), null, 2)}\n`,
          io,
        );
      }
      if (values.blocks) {
        return await runBatch(
          source,
          o,
          (s) => `${drawBlocks(filterDomains(s.domains, o.filter), s.collectedAt).join("\n")}\n`,
          io,
        );
      }
      const batch = values.batch || values.once || !process.stdout.isTTY;
      if (batch) {
        const state = initialState(o.sortKey, o.filter);
        const frame = (s: ViewSnapshot) =>
          `${composeFrame(s, state, { width: Infinity, height: Infinity, color: false, delaySeconds: o.delayMs / 1000 }).join("\n")}\n\n`;
        return await runBatch(source, o, frame, io);
      }
      return await runFullScreen(source, o, colorsEnabled(process.stdout));
    } finally {
      await source.close();
    }
  },
};

/**
 * The fleet tests' pieces: `kvmon server` as a real process (bin/kvmon from source, temp data dir, tokens made
 * with its own CLI), and agents pushing to it under host identities of their own (hostName/hostUuid config), in
 * this process so a test reads their push counters and spools.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/agent/config.ts";
import type { RunningAgent } from "../../src/agent/server.ts";
import { labelKey, parseExposition } from "../../src/agent/testing/exposition-lines.ts";
import { decodeWrite } from "../../src/protocol/remote-write/index.ts";
import { BatchKind } from "../../src/protocol/remote-write/sender.ts";
import { Spool } from "../../src/protocol/remote-write/spool.ts";
import { startTestAgent } from "../agent-helpers.ts";
import { freePort } from "../victoria-metrics.ts";

const KVMON = join(import.meta.dirname, "../../bin/kvmon");
const FROM_SOURCE = { ...process.env, KVMON_FROM_SOURCE: "1" };

/** `kvmon server ARGS --data-dir DIR`; its stdout (a token for create/add). */
export function serverCli(dataDir: string, ...args: string[]): string {
  const r = spawnSync(KVMON, ["server", ...args, "--data-dir", dataDir], {
    env: FROM_SOURCE,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, `kvmon server ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

export interface Fleet {
  dataDir: string;
  viewer: string;
  /** Host name -> file (0600) with its agent's token. */
  hostTokenFiles: Record<string, string>;
}

/** A data dir with an admin and a viewer token and a host token per name (`kvmon server token create / host add`). */
export function makeFleet(dir: string, hosts: readonly string[]): Fleet {
  const dataDir = join(dir, "server");
  mkdirSync(dataDir, { recursive: true });
  serverCli(dataDir, "token", "create", "--role", "admin", "--name", "admin");
  const viewer = serverCli(dataDir, "token", "create", "--role", "viewer", "--name", "grafana");
  const hostTokenFiles: Record<string, string> = {};
  for (const h of hosts) {
    const file = join(dir, `${h}.token`);
    writeFileSync(file, `${serverCli(dataDir, "host", "add", h)}\n`, { mode: 0o600 });
    hostTokenFiles[h] = file;
  }
  return { dataDir, viewer, hostTokenFiles };
}

export interface ServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  log: string[];
  /** SIGTERM (a clean stop), SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** SIGKILL, and wait for the exit. */
  kill9(): Promise<void>;
}

/**
 * Starts `bin/kvmon server` on `port` (a free one by default) and resolves once it listens; `config` is written
 * to its --config file (e.g. `storage`, `forward`).
 */
export async function startServerProcess(
  dataDir: string,
  port?: number,
  config?: Record<string, unknown>,
): Promise<ServerProcess> {
  const p = port ?? (await freePort());
  const configArgs: string[] = [];
  if (config) {
    const file = join(dataDir, "config.json");
    writeFileSync(file, JSON.stringify(config));
    configArgs.push("--config", file);
  }
  const child = spawn(
    KVMON,
    ["server", ...configArgs, "--listen", `127.0.0.1:${p}`, "--data-dir", dataDir, "--push-interval", "1"],
    { env: FROM_SOURCE, stdio: ["ignore", "ignore", "pipe"] },
  );
  const log: string[] = [];
  let listening = false;
  createInterface({ input: child.stderr! }).on("line", (l) => {
    if (log.length < 1000) log.push(l);
    if (/"msg":"server listening"/.test(l)) listening = true;
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const kill9 = async () => {
    if (gone()) return;
    child.kill("SIGKILL");
    await exited;
  };
  const stop = async () => {
    if (gone()) return;
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(10_000)]);
    await kill9();
  };
  for (let i = 0; i < 300 && !listening && !gone(); i++) await sleep(100);
  if (!listening) {
    await kill9();
    assert.fail(`kvmon server did not start:\n${log.join("\n")}`);
  }
  return { url: `http://127.0.0.1:${p}`, port: p, child, log, stop, kill9 };
}

export interface FleetAgent {
  name: string;
  running: RunningAgent;
  base: string;
  spoolDir: string;
}

/** Another kvmon server the agent pushes to as well, as push target `name`. */
export interface AlsoPushTo {
  name: string;
  url: string;
  tokenFile: string;
  spoolDir: string;
}

/**
 * An agent on the lab's qemu:///system reporting host `name`, pushing to the server (kind kvmon, target "server")
 * with its token, and to the `alsoTo` servers; its log lines go to `log`.
 */
export async function startFleetAgent(
  name: string,
  uuid: string,
  serverUrl: string,
  tokenFile: string,
  spoolDir: string,
  opts: {
    interval?: number;
    spoolMaxBytes?: number;
    alsoTo?: readonly AlsoPushTo[];
    log?: (line: string) => void;
  } = {},
): Promise<FleetAgent> {
  const config = loadConfig({
    file: `${name}.json`,
    readFile: () =>
      JSON.stringify({
        listen: "127.0.0.1:0",
        interval: opts.interval ?? 2,
        hostName: name,
        hostUuid: uuid,
        push: [
          {
            url: serverUrl,
            kind: "kvmon",
            name: "server",
            tokenFile,
            spoolDir,
            timeoutSeconds: 2,
            ...(opts.spoolMaxBytes === undefined ? {} : { spoolMaxBytes: opts.spoolMaxBytes }),
          },
          ...(opts.alsoTo ?? []).map((t) => ({ ...t, kind: "kvmon", timeoutSeconds: 2 })),
        ],
      }),
  });
  const { running, base } = await startTestAgent(config, opts.log);
  return { name, running, base, spoolDir };
}

export const text = async (url: string, token?: string): Promise<string> =>
  (
    await fetch(url, {
      signal: AbortSignal.timeout(10_000),
      headers: token ? { authorization: `Bearer ${token}` } : {},
    })
  ).text();

export async function json<T>(url: string, token: string): Promise<T> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(30_000),
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200, `${url}: ${res.status}`);
  return (await res.json()) as T;
}

/** A sample of the agent's own metrics (the first series of the family), or undefined. */
export function metricOf(
  metrics: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return parseExposition(metrics).find(
    (s) => s.labels.__name__ === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

export async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(250);
  }
}

/** Series key (labels) -> timestamp -> value. */
export type Samples = Map<string, Map<number, number>>;

export function addSample(into: Samples, labels: Record<string, string>, t: number, v: number): void {
  const key = labelKey(labels);
  if (!into.has(key)) into.set(key, new Map());
  into.get(key)!.set(t, v);
}

/** Every sample the server holds for `{host=...}` in [startMs, endMs], read with the Prometheus API. */
export async function serverSamples(
  serverUrl: string,
  token: string,
  host: string,
  startMs: number,
  endMs: number,
): Promise<Samples> {
  const windowMs = Math.max(1, endMs - startMs);
  const q = `{host="${host}"}[${windowMs}ms]`;
  const body = await json<{
    data: { result: Array<{ metric: Record<string, string>; values: [number, string][] }> };
  }>(`${serverUrl}/api/v1/query?query=${encodeURIComponent(q)}&time=${endMs / 1000}`, token);
  const out: Samples = new Map();
  for (const s of body.data.result)
    for (const [t, v] of s.values) addSample(out, s.metric, Math.round(t * 1000), Number(v));
  return out;
}

/** Same value, NaN equal to NaN. */
export const same = (a: number, b: number): boolean => Object.is(a, b) || a === b;

/** The samples of the write batches in a spool, read from a copy (reading must not change the evidence). */
export function spooledSamples(
  spoolDir: string,
  copy: string,
): { samples: Samples; count: number; firstT: number } {
  cpSync(spoolDir, copy, { recursive: true });
  const spool = new Spool({ dir: copy, maxBytes: 1 << 30 });
  const samples: Samples = new Map();
  let count = 0;
  let firstT = Infinity;
  for (let b = spool.peek(); b; b = spool.peek()) {
    if (b.kind === BatchKind.write)
      for (const s of decodeWrite(b.payload, 1 << 26))
        for (const x of s.samples) {
          addSample(
            samples,
            Object.fromEntries(s.labels.map((l) => [l.name, l.value])),
            x.timestamp,
            x.value,
          );
          count++;
          firstT = Math.min(firstT, x.timestamp);
        }
    spool.ack(b.id);
  }
  spool.close();
  return { samples, count, firstT };
}

/** Which of `expected` the server lacks or holds with another value (empty: it holds them all). */
export function lacking(expected: Samples, got: Samples): string[] {
  const out: string[] = [];
  for (const [key, samples] of expected)
    for (const [t, v] of samples) {
      const have = got.get(key)?.get(t);
      if (have === undefined || !same(have, v)) out.push(`${key} @${t}: want ${v}, server has ${have}`);
    }
  return out;
}

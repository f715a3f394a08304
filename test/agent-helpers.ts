/**
 * Helpers for the agent's integration tests on the lab's qemu:///system: `virsh domstats` as the witness, and the
 * transient domains a test creates for itself (named `kvmon-agent-test-<kind>-<pid>`), removed even when a run
 * was interrupted.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { type AgentConfig, loadConfig } from "../src/agent/config.ts";
import { Agent, type AgentOptions } from "../src/agent/agent.ts";
import { LibvirtSource } from "../src/agent/libvirt-source.ts";
import { type Logger, ProblemLog } from "../src/agent/log.ts";
import { type RunningAgent, startAgent } from "../src/agent/server.ts";
import { collectors } from "../src/collectors/registry.ts";
import { virsh } from "./libvirt-helpers.ts";

export const SYSTEM_URI = "qemu:///system";

/** One `virsh domstats [flags] DOMAIN` record as field -> number (string fields dropped). */
export async function domstats(domain: string, ...flags: string[]): Promise<Map<string, number>> {
  const out = await virsh(SYSTEM_URI, "domstats", ...flags, domain);
  const stats = new Map<string, number>();
  for (const m of out.matchAll(/^\s*([\w.-]+)=(-?\d+)$/gm)) stats.set(m[1]!, Number(m[2]));
  return stats;
}

/** Every domain libvirt knows, running or not. */
async function allDomains(): Promise<string[]> {
  return (await virsh(SYSTEM_URI, "list", "--all", "--name")).split("\n").map((l) => l.trim());
}

/** This run's name for a transient test domain of `kind` (the pid tells later runs whether it is orphaned). */
export function testDomainName(kind: string): string {
  return `kvmon-agent-test-${kind}-${process.pid}`;
}

/**
 * Removes a transient test domain (left running by an interrupted run, or at the end of a test): resumes its
 * QEMU if it was SIGSTOPped, destroys it, retries while libvirt still holds its job, and fails loudly if it
 * cannot.
 */
export async function removeTestDomain(name: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    if (!(await allDomains()).includes(name)) return;
    const pid = Number((await readFile(`/run/libvirt/qemu/${name}.pid`, "utf8").catch(() => "")).trim());
    if (pid > 0) process.kill(pid, "SIGCONT");
    await virsh(SYSTEM_URI, "destroy", name).catch(() => sleep(1000)); // retried: the job may still be held
  }
  throw new Error(`could not remove test domain ${name}`);
}

/** Removes the test domains of runs that were interrupted (their test process is gone). */
export async function removeOrphanTestDomains(): Promise<void> {
  for (const name of await allDomains()) {
    const m = /^kvmon-agent-test-[a-z]+-(\d+)$/.exec(name);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      alive = false; // ESRCH: the run that made it is gone
    }
    if (!alive) await removeTestDomain(name);
  }
}

/**
 * An agent in this process on the lab's qemu:///system (read-only, every registered collector, 10 s interval
 * that nothing runs: tests call `tick()` to control each collection's window), connected before it returns.
 */
export async function labAgent(logger: Logger, extra: Partial<AgentOptions> = {}): Promise<Agent> {
  const source = new LibvirtSource({
    uri: SYSTEM_URI,
    readOnly: true,
    callTimeoutMs: 5000,
    connectTimeoutMs: 5000,
  });
  const agent = new Agent({
    source,
    collectors,
    intervalMs: 10_000,
    timeoutMs: 5000,
    logger,
    problems: new ProblemLog(logger),
    ...extra,
  });
  source.start();
  for (let i = 0; i < 100 && !source.connection().connected; i++) await sleep(50);
  assert.ok(source.connection().connected, "connected to libvirtd");
  return agent;
}

/** A whole agent (startAgent) on its config's read-only libvirt connection, and its base URL. */
export async function startTestAgent(
  config: AgentConfig,
  /** The agent's log lines (JSON); discarded by default. */
  write: (line: string) => void = () => {},
): Promise<{ running: RunningAgent; base: string }> {
  const source = new LibvirtSource({
    uri: config.uri,
    readOnly: true,
    callTimeoutMs: 1500,
    connectTimeoutMs: 5000,
  });
  const running = await startAgent(config, source, write);
  return { running, base: `http://127.0.0.1:${running.address.port}` };
}

/**
 * startTestAgent on qemu:///system with the control API on (the token, guest exec, the audit log in `dir`) and a
 * 2 s interval: the agent the server, CLI and dashboard tests route control calls to.
 */
export function startControlAgent(
  dir: string,
  controlToken: string,
  opts: { passthrough?: boolean } = {},
): Promise<{ running: RunningAgent; base: string }> {
  const config = loadConfig({
    flags: { listen: "127.0.0.1:0", interval: "2", "audit-log": join(dir, "agent-audit.log") },
    env: {
      KVMON_URI: SYSTEM_URI,
      KVMON_CONTROL_TOKEN: controlToken,
      KVMON_GUEST: "true",
      KVMON_GUEST_EXEC: "true",
      ...(opts.passthrough ? { KVMON_GUEST_PASSTHROUGH: "true" } : {}),
    },
  });
  return startTestAgent(config);
}

const root = join(import.meta.dirname, "..");

export interface RunningChild {
  child: ChildProcess;
  base: string;
  log: string[];
  stop(): Promise<void>;
}

/** Starts `./bin/kvmon agent ARGS` and resolves once it logged its address. */
export async function startAgentProcess(args: string[]): Promise<RunningChild> {
  const child = spawn(join(root, "bin/kvmon"), ["agent", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  const log: string[] = [];
  let address: string | undefined;
  createInterface({ input: child.stderr! }).on("line", (l) => {
    if (log.length < 500) log.push(l);
    address ??= /"msg":"agent listening".*"address":"([^"]+)"/.exec(l)?.[1];
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  for (let i = 0; i < 300 && address === undefined; i++) {
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  if (address === undefined) {
    await stop();
    assert.fail(`agent did not start: ${log.join("\n")}`);
  }
  return { child, base: `http://${address}`, log, stop };
}

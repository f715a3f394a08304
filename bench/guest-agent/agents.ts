/**
 * N real guest agents on the host: `qemu-ga -m unix-listen` processes, each with its own socket and state
 * directory in one temporary directory (test/qga-process.ts starts each). Every process is SIGKILLed when the
 * fleet stops, and also when this process exits or is interrupted, so a failed run leaves no agents behind.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killAgentProcess, startQemuGa } from "../../test/qga-process.ts";

export interface AgentFleet {
  /** Socket paths, one per agent. */
  sockets: string[];
  pids: number[];
  stop(): Promise<void>;
}

/** Agents started this many at a time (each waits for its socket to appear). */
const START_BATCH = 20;

export async function startAgentFleet(n: number, log: (s: string) => void): Promise<AgentFleet> {
  const dir = mkdtempSync(join(tmpdir(), "kvmon-bench-qga-"));
  const procs: ChildProcess[] = [];
  const killAll = () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  };
  const onExit = () => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    killAll();
    process.exit(sig === "SIGINT" ? 130 : 143); // runs onExit
  };
  process.once("exit", onExit);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const stop = async () => {
    await Promise.all(procs.map((p) => killAgentProcess(p)));
    process.off("exit", onExit);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    rmSync(dir, { recursive: true, force: true });
  };
  const sockets = Array.from({ length: n }, (_, i) => join(dir, `qga-${i}.sock`));
  try {
    for (let i = 0; i < n; i += START_BATCH) {
      const batch = sockets.slice(i, i + START_BATCH).map(async (sock, k) => {
        const state = join(dir, `state-${i + k}`);
        mkdirSync(state);
        const p = await startQemuGa(sock, state);
        procs.push(p);
        return p;
      });
      await Promise.all(batch);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  log(`${n} qemu-ga processes listening in ${dir}`);
  return { sockets, pids: procs.map((p) => p.pid!), stop };
}

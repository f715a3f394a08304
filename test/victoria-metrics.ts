/**
 * A VictoriaMetrics single-node server for tests and benchmarks (Debian package `victoria-metrics`, in
 * scripts/setup.sh --test-deps): started on a free loopback port with its own temporary data directory, ready
 * when /health answers, stopped (and its directory removed) by stop().
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { TimeoutError } from "../src/shared/errors.ts";

export const VICTORIA_METRICS_BIN = "/usr/bin/victoria-metrics";

export interface RunningVictoriaMetrics {
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly pid: number;
  readonly dataDir: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts VictoriaMetrics; `args` are added to its command line (e.g. "-search.disableCache"). */
export async function startVictoriaMetrics(args: readonly string[] = []): Promise<RunningVictoriaMetrics> {
  const dataDir = mkdtempSync(join(tmpdir(), "kvmon-vm-"));
  const port = await freePort();
  const child = spawn(
    VICTORIA_METRICS_BIN,
    [
      `-storageDataPath=${dataDir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      "-retentionPeriod=100y",
      "-loggerLevel=ERROR",
      ...args,
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) child.kill("SIGKILL");
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`victoria-metrics exited with ${child.exitCode} before it was ready`);
    }
    try {
      if ((await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new TimeoutError("victoria-metrics /health", 20_000);
    }
    await sleep(100);
  }
  return { url, pid: child.pid!, dataDir, process: child, stop };
}

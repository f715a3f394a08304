/**
 * A peer daemon for tests (VictoriaMetrics, Prometheus): started on a free loopback port with a directory of its
 * own, ready when its health URL answers, stopped (SIGTERM, then SIGKILL after 10 s) and its directory removed (unless kept) by
 * stop().
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { TimeoutError } from "../src/shared/errors.ts";

export interface RunningDaemon {
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly process: ChildProcess;
  /** Stops it; `keepDir` leaves its directory (to restart on the same data). */
  stop(keepDir?: boolean): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface DaemonSpec {
  readonly bin: string;
  readonly args: readonly string[];
  readonly port: number;
  /** Answers 2xx once the daemon serves, e.g. /health. */
  readonly readyPath: string;
  readonly readyTimeoutMs: number;
  /** Removed by stop(). */
  readonly dir: string;
  /** Its environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

export async function startDaemon(spec: DaemonSpec): Promise<RunningDaemon> {
  const child = spawn(spec.bin, spec.args, { stdio: ["ignore", "ignore", "inherit"], env: spec.env });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${spec.port}`;
  const stop = async (keepDir = false): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) child.kill("SIGKILL");
      await exited;
    }
    if (!keepDir) rmSync(spec.dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + spec.readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`${spec.bin} exited with ${child.exitCode} before it was ready`);
    }
    try {
      if ((await fetch(`${url}${spec.readyPath}`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new TimeoutError(`${spec.bin} ${spec.readyPath}`, spec.readyTimeoutMs);
    }
    await sleep(100);
  }
  return { url, process: child, stop };
}

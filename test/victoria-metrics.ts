/**
 * A VictoriaMetrics single-node server for tests and benchmarks (Debian package `victoria-metrics`, in
 * scripts/setup.sh --test-deps): started on a free loopback port with its own temporary data directory, ready
 * when /health answers, stopped (and its directory removed) by stop().
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startDaemon } from "./daemon.ts";

export { freePort };

export const VICTORIA_METRICS_BIN = "/usr/bin/victoria-metrics";

export interface RunningVictoriaMetrics {
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly pid: number;
  readonly dataDir: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts VictoriaMetrics; `args` are added to its command line (e.g. "-search.disableCache"). */
export async function startVictoriaMetrics(args: readonly string[] = []): Promise<RunningVictoriaMetrics> {
  const dataDir = mkdtempSync(join(tmpdir(), "kvmon-vm-"));
  const port = await freePort();
  const daemon = await startDaemon({
    bin: VICTORIA_METRICS_BIN,
    args: [
      `-storageDataPath=${dataDir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      "-retentionPeriod=100y",
      "-loggerLevel=ERROR",
      ...args,
    ],
    port,
    readyPath: "/health",
    readyTimeoutMs: 20_000,
    dir: dataDir,
  });
  return { ...daemon, pid: daemon.process.pid!, dataDir };
}

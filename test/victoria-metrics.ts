/**
 * A real VictoriaMetrics single node for tests (Debian's /usr/bin/victoria-metrics): on a free port, with its
 * data in a temporary directory (or a given one, to restart it on the same data), samples queryable at once
 * (no latency offset) and exact duplicates merged (dedup at 1 ms), as a replay after a lost acknowledgement
 * produces them.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const VICTORIA_BIN = "/usr/bin/victoria-metrics";

/** One series as /api/v1/export writes it (a JSON line). */
export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export interface Victoria {
  /** http://127.0.0.1:PORT */
  base: string;
  port: number;
  dataDir: string;
  /** Its remote_write endpoint. */
  writeUrl: string;
  /** Makes every accepted sample searchable now. */
  flush(): Promise<void>;
  /** Every series matching the selector, all its samples. */
  exportSeries(selector: string): Promise<ExportedSeries[]>;
  /** Stops the process; `keepData` leaves the data directory for a restart. */
  stop(keepData?: boolean): Promise<void>;
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startVictoria(opts: { port?: number; dataDir?: string } = {}): Promise<Victoria> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "kvmon-vm-"));
  const base = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    VICTORIA_BIN,
    [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${dataDir}`,
      "-search.latencyOffset=0s",
      "-dedup.minScrapeInterval=1ms",
      "-loggerLevel=ERROR",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const stop = async (keepData = false) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    if (!keepData) rmSync(dataDir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (child.exitCode !== null || i > 100) {
      await stop();
      throw new Error(`victoria-metrics did not start: ${stderr}`);
    }
    await sleep(100);
  }
  return {
    base,
    port,
    dataDir,
    writeUrl: `${base}/api/v1/write`,
    async flush() {
      const r = await fetch(`${base}/internal/force_flush`, { signal: AbortSignal.timeout(10_000) });
      if (!r.ok) throw new Error(`force_flush: HTTP ${r.status}`);
    },
    async exportSeries(selector) {
      const url = `${base}/api/v1/export?match[]=${encodeURIComponent(selector)}`;
      const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      if (!r.ok) throw new Error(`export: HTTP ${r.status} ${await r.text()}`);
      return (await r.text())
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as ExportedSeries);
    },
    stop,
  };
}

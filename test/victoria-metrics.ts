/**
 * A real VictoriaMetrics single node for tests and benchmarks (Debian's /usr/bin/victoria-metrics, in
 * scripts/setup.sh --test-deps): on a free loopback port (or a given one) with its data in a temporary directory
 * (or a given one, to restart it on the same data), ready when /health answers.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type RunningDaemon, startDaemon } from "./daemon.ts";

export { freePort };

export const VICTORIA_METRICS_BIN = "/usr/bin/victoria-metrics";

/** One series as /api/v1/export writes it (a JSON line). */
export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

/**
 * VictoriaMetrics keeps a float as a decimal mantissa and exponent, about 12 significant digits
 * (0.0000853469999999561 comes back as 0.000085347): equal means equal to that precision.
 */
export function sameIn12Digits(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-11 * Math.max(Math.abs(a), Math.abs(b));
}

export interface RunningVictoriaMetrics extends RunningDaemon {
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  /** Its remote_write endpoint. */
  readonly writeUrl: string;
  /** Makes every accepted sample searchable now. */
  flush(): Promise<void>;
  /** Every series matching the selector, all its samples. */
  exportSeries(selector: string): Promise<ExportedSeries[]>;
}

export interface VictoriaMetricsOptions {
  /** Added to its command line, e.g. "-search.disableCache", "-dedup.minScrapeInterval=1ms". */
  readonly args?: readonly string[];
  readonly port?: number;
  readonly dataDir?: string;
}

export async function startVictoriaMetrics(
  opts: VictoriaMetricsOptions = {},
): Promise<RunningVictoriaMetrics> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "kvmon-vm-"));
  const port = opts.port ?? (await freePort());
  const daemon = await startDaemon({
    bin: VICTORIA_METRICS_BIN,
    args: [
      `-storageDataPath=${dataDir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      "-retentionPeriod=100y",
      "-loggerLevel=ERROR",
      ...(opts.args ?? []),
    ],
    port,
    readyPath: "/health",
    readyTimeoutMs: 20_000,
    dir: dataDir,
  });
  const url = daemon.url;
  return {
    ...daemon,
    port,
    pid: daemon.process.pid!,
    dataDir,
    writeUrl: `${url}/api/v1/write`,
    async flush() {
      const r = await fetch(`${url}/internal/force_flush`, { signal: AbortSignal.timeout(10_000) });
      if (!r.ok) throw new Error(`force_flush: HTTP ${r.status}`);
    },
    async exportSeries(selector) {
      const r = await fetch(`${url}/api/v1/export?match[]=${encodeURIComponent(selector)}`, {
        signal: AbortSignal.timeout(10_000),
      });
      if (!r.ok) throw new Error(`export: HTTP ${r.status} ${await r.text()}`);
      return (await r.text())
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as ExportedSeries);
    },
  };
}

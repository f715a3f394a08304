/**
 * A real Prometheus (Debian package `prometheus`, 2.42 on this machine) serving given data, as the witness of
 * PromQL semantics: the samples are written as OpenMetrics, turned into TSDB blocks by `promtool tsdb
 * create-blocks-from openmetrics`, and Prometheus is started on them on a free loopback port with no scrape
 * targets. stop() ends it and removes its directory.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Series } from "../src/server/storage/types.ts";
import { freePort, type RunningDaemon, startDaemon } from "./daemon.ts";

export const PROMETHEUS_BIN = "/usr/bin/prometheus";
export const PROMTOOL_BIN = "/usr/bin/promtool";

export type RunningPrometheus = RunningDaemon;

const escape = (v: string): string => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** The series as OpenMetrics text (families untyped, samples with timestamps in seconds), grouped by name. */
export function toOpenMetrics(series: readonly Series[]): string {
  const byName = [...series].sort((a, b) => ((a.labels.__name__ ?? "") < (b.labels.__name__ ?? "") ? -1 : 1));
  const lines: string[] = [];
  for (const s of byName) {
    const { __name__: name, ...rest } = s.labels;
    const labels = Object.entries(rest)
      .map(([k, v]) => `${k}="${escape(v)}"`)
      .join(",");
    for (const { t, v } of s.samples) lines.push(`${name}{${labels}} ${v} ${t / 1000}`);
  }
  return `${lines.join("\n")}\n# EOF\n`;
}

export async function startPrometheus(series: readonly Series[]): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), "kvmon-prom-"));
  const input = join(dir, "data.om");
  const config = join(dir, "prometheus.yml");
  writeFileSync(input, toOpenMetrics(series));
  writeFileSync(config, "global: {}\nscrape_configs: []\n");
  try {
    await promisify(execFile)(PROMTOOL_BIN, [
      "tsdb",
      "create-blocks-from",
      "openmetrics",
      "-q",
      input,
      join(dir, "tsdb"),
    ]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const port = await freePort();
  return startDaemon({
    bin: PROMETHEUS_BIN,
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "tsdb")}`,
      "--storage.tsdb.retention.time=100y",
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=error",
    ],
    port,
    readyPath: "/-/ready",
    readyTimeoutMs: 30_000,
    dir,
  });
}

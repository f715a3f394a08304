/**
 * Real Prometheus (Debian's 2.42) as an independent witness of the remote_write codec, both ways: it scrapes
 * itself and remote_writes to kvmon's ingest handler (`writeRoutes` on a socket, a fake host principal), which
 * must decode, validate and store what it sends; and its own remote-write receiver must take kvmon's encoding,
 * values and awkward label values intact. No lab needed; run under the integration lock like every file here.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { encodeWrite, REMOTE_WRITE_HEADERS, sortedLabels } from "../../src/protocol/remote-write/index.ts";
import { type Principal, writeRoutes } from "../../src/server/ingest/routes.ts";
import type { Series, SeriesStore } from "../../src/server/storage/types.ts";
import { freePort } from "../victoria-metrics.ts";

interface Prometheus {
  base: string;
  stop(): Promise<void>;
}

async function startPrometheus(scrapeAndWriteTo: string | null): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), "kvmon-prom-"));
  const port = await freePort();
  const config = [
    "global:",
    "  scrape_interval: 1s",
    "  external_labels: { host: prom }",
    "scrape_configs:",
    `  - { job_name: self, static_configs: [{ targets: ["127.0.0.1:${port}"] }] }`,
    ...(scrapeAndWriteTo
      ? ["remote_write:", `  - url: ${scrapeAndWriteTo}`, "    queue_config: { batch_send_deadline: 1s }"]
      : []),
  ].join("\n");
  writeFileSync(join(dir, "prometheus.yml"), config);
  const child: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--web.enable-remote-write-receiver",
      "--log.level=error",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const ready = await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ready) return { base, stop };
    if (child.exitCode !== null || i > 150) {
      await stop();
      throw new Error(`prometheus did not start: ${stderr}`);
    }
    await sleep(200);
  }
}

test("Prometheus' own remote_write requests are decoded, validated and stored by kvmon's ingest handler", async () => {
  const stored: Series[] = [];
  const statuses: number[] = [];
  const userAgents = new Set<string>();
  const store = { append: (b: readonly Series[]) => Promise.resolve(void stored.push(...b)) };
  const app = new Hono<{ Variables: { principal?: Principal } }>();
  app.use(async (c, next) => {
    c.set("principal", { kind: "host", host: "prom" });
    userAgents.add(c.req.header("user-agent") ?? "");
    await next();
    statuses.push(c.res.status);
  });
  app.route("/", writeRoutes({ store: store as unknown as SeriesStore }));
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  const prom = await startPrometheus(url);
  try {
    for (let i = 0; i < 120 && !stored.some((s) => s.labels.__name__ === "up"); i++) await sleep(250);
    const up = stored.find((s) => s.labels.__name__ === "up");
    assert.ok(up, `no 'up' series among ${stored.length}; statuses ${statuses.join(",")}`);
    assert.deepEqual(up.labels, { __name__: "up", host: "prom", instance: up.labels.instance!, job: "self" });
    assert.equal(up.samples[0]!.v, 1);
    assert.ok(Math.abs(up.samples[0]!.t - Date.now()) < 60_000);
    const build = stored.find((s) => s.labels.__name__ === "prometheus_build_info");
    assert.match(build?.labels.version ?? "", /^2\.42\.0/, JSON.stringify(build?.labels));
    assert.ok(statuses.length > 0 && statuses.every((s) => s === 204), statuses.join(","));
    assert.ok(
      [...userAgents].every((u) => u.startsWith("Prometheus/")),
      [...userAgents].join(),
    );
  } finally {
    await prom.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test("Prometheus' remote-write receiver takes kvmon's encoding: values and awkward label values intact", async () => {
  const prom = await startPrometheus(null);
  try {
    const t = Date.now() - 5000;
    const odd = 'quote " backslash \\ newline \n unicode ü';
    const body = encodeWrite([
      {
        labels: sortedLabels({ __name__: "kvmon_rw_witness", host: "h1", odd }),
        samples: [
          { value: 0.125, timestamp: t - 1000 },
          { value: -42.5, timestamp: t },
        ],
      },
    ]);
    const res = await fetch(`${prom.base}/api/v1/write`, {
      method: "POST",
      body,
      headers: { ...REMOTE_WRITE_HEADERS, "User-Agent": "kvmon-test" },
    });
    assert.equal(res.status, 204, await res.text());
    const q = new URLSearchParams({ query: "kvmon_rw_witness[1m]", time: String((t + 1) / 1000) });
    const answer = (await (await fetch(`${prom.base}/api/v1/query?${q}`)).json()) as {
      data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
    };
    assert.deepEqual(answer.data.result, [
      {
        metric: { __name__: "kvmon_rw_witness", host: "h1", odd },
        values: [
          [(t - 1000) / 1000, "0.125"],
          [t / 1000, "-42.5"],
        ],
      },
    ]);
  } finally {
    await prom.stop();
  }
});

/**
 * Wires a running agent: config → logger → libvirt source → Agent → HTTP server. Kept out of the CLI module so
 * tests (and later the lab proofs) can start a whole agent against any HostSource on an ephemeral port.
 */
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { collectDefaultMetrics, Registry } from "prom-client";
import { selectCollectors } from "../collectors/registry.ts";
import { Agent } from "./agent.ts";
import type { AgentConfig } from "./config.ts";
import { createApp } from "./http.ts";
import { Logger, ProblemLog } from "./log.ts";
import { ProcessStartTimes } from "./process-start.ts";
import type { HostSource } from "./source.ts";

export interface RunningAgent {
  agent: Agent;
  /** The bound address (port resolved when 0 was asked for). */
  address: AddressInfo;
  stop(): Promise<void>;
}

/**
 * prom-client's default metrics that `promtool check metrics` rejects (gauges named *_total); the agent's
 * /metrics must pass promtool, and `nodejs_active_handles` etc. carry the same numbers without the suffix.
 */
const LINT_FAILING = new Set([
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
]);

/** Removes whole metric families (HELP, TYPE and samples) by name from an exposition text. */
export function dropFamilies(text: string, names: ReadonlySet<string>): string {
  return text
    .split("\n")
    .filter((line) => {
      const m = /^(?:# (?:HELP|TYPE) )?([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
      return !m || !names.has(m[1]!);
    })
    .join("\n");
}

/** libvirt URIs without a host are served by the local daemon: only then are /proc and the pid files ours. */
export function isLocalUri(uri: string): boolean {
  const m = /^[a-z0-9+]+:\/\/([^/]*)\//i.exec(uri);
  return m !== null && m[1] === "";
}

export async function startAgent(
  config: AgentConfig,
  source: HostSource,
  write: (line: string) => void,
): Promise<RunningAgent> {
  const logger = new Logger(write, config.logLevel);
  const problems = new ProblemLog(logger);
  const agent = new Agent({
    source,
    collectors: selectCollectors(config.collectors),
    intervalMs: config.intervalSeconds * 1000,
    timeoutMs: config.timeoutSeconds * 1000,
    logger,
    problems,
    processStarts: isLocalUri(config.uri)
      ? new ProcessStartTimes({
          procRoot: config.procRoot,
          runDir: config.libvirtRunDir,
          // Keyed under the domain's uuid so the problem is forgotten with the domain (snapshot-builder).
          onError: (domain, uuid, e) =>
            problems.problem(
              `domain:${uuid}:uptime`,
              "cannot read QEMU start time; uptime unknown",
              e,
              { domain },
              "debug",
            ),
        })
      : undefined,
  });
  const registry = new Registry();
  // Event-loop lag sampled once a second, not prom-client's default 100 times: each sample is a timer wake-up,
  // and at 10 ms that alone cost more CPU than the collections (bench/agent). A stall still shows: it delays
  // the sample.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  const app = createApp(agent, {
    extraMetrics: async () => dropFamilies(await registry.metrics(), LINT_FAILING),
  });
  const server = createAdaptorServer({
    fetch: app.fetch,
    hostname: config.listenHost,
    port: config.listenPort,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.listenPort, config.listenHost, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  logger.info("agent listening", {
    address: `${address.address}:${address.port}`,
    uri: config.uri,
    readOnly: config.readOnly,
    intervalSeconds: config.intervalSeconds,
    timeoutSeconds: config.timeoutSeconds,
    collectors: config.collectors.join(","),
  });
  agent.start();
  return {
    agent,
    address,
    async stop() {
      await agent.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      logger.info("agent stopped");
    },
  };
}

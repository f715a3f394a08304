/**
 * Wires a running agent: config → logger → libvirt source → Agent → HTTP server. Kept out of the CLI module so
 * tests (and later the lab proofs) can start a whole agent against any HostSource on an ephemeral port.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { createNodeWebSocket } from "@hono/node-ws";
import { Hono } from "hono";
import type { Emit } from "../metrics/catalog.ts";
import { openGuestView } from "../collectors/guest/index.ts";
import { selectCollectors } from "../collectors/registry.ts";
import { checkHost, formatHostProblem } from "../host-checks/index.ts";
import { readKeyPair } from "../shared/tls.ts";
import { Agent } from "./agent.ts";
import type { AgentConfig } from "./config.ts";
import { AuditLog } from "./control/audit.ts";
import { localDiskAudit } from "./control/disk-audit.ts";
import { openControlChannels } from "./control/guest-channel.ts";
import type { ControlDeps } from "./control/routes.ts";
import { ConfigError } from "./errors.ts";
import { loadControlToken } from "./control/token.ts";
import { createApp } from "./http.ts";
import { readIdentity } from "./identity.ts";
import { Logger, ProblemLog } from "./log.ts";
import { exposeAgentLines } from "./exposition.ts";
import { processMetricsExposer } from "../metrics/process.ts";
import { Pusher } from "./push/pusher.ts";
import { ProcessStartTimes } from "./process-start.ts";
import type { HostSource } from "./source.ts";
import { openTracer } from "./trace.ts";

/** Deadline of each agent call a control request makes (guest-exec spawns a process: slower than a read). */
const CONTROL_CALL_TIMEOUT_MS = 5000;

/**
 * The control API's parts: the token (a bad token file stops the agent here), the audit log (opened now, so
 * a bad path does too) and, when an endpoint is on, its own read-write channels to the guests.
 */
async function openControl(config: AgentConfig, logger: Logger): Promise<ControlDeps> {
  const cc = config.control;
  const token = loadControlToken({ token: cc.token, tokenFile: cc.tokenFile });
  const audit = token ? new AuditLog({ path: cc.auditLog, logger }) : null;
  await audit?.open();
  const on = token !== null && (cc.guestExec || cc.guestPassthrough);
  const callTimeoutMs = Math.max(CONTROL_CALL_TIMEOUT_MS, config.guest.callTimeoutSeconds * 1000);
  return {
    token,
    audit,
    logger,
    channels: on ? openControlChannels(config.guest.uri ?? config.uri, callTimeoutMs) : null,
    guestExec: cc.guestExec,
    guestPassthrough: cc.guestPassthrough,
    killOnTimeout: true,
    callTimeoutMs,
  };
}

async function closeControl(control: ControlDeps): Promise<void> {
  await control.channels?.close();
  await control.audit?.close();
}

/** Idle keep-alive connections are closed after this long (longer than any sane scrape interval). */
const KEEP_ALIVE_MS = 120_000;

export interface RunningAgent {
  agent: Agent;
  /** The bound address (port resolved when 0 was asked for). */
  address: AddressInfo;
  stop(): Promise<void>;
}

/** libvirt URIs without a host are served by the local daemon: only then are /proc and the pid files ours. */
export function isLocalUri(uri: string): boolean {
  const m = /^[a-z0-9+]+:\/\/([^/]*)\//i.exec(uri);
  return m !== null && m[1] === "";
}

/**
 * A local system libvirtd on a host set up without udev answers, but every define, start or capabilities
 * lookup re-probes QEMU and the agent's calls time out with no reason given: name such host problems at
 * start-up, one line each with the fix (src/host-checks).
 */
async function reportHostProblems(uri: string, logger: Logger): Promise<void> {
  if (!/^qemu(\+unix)?:\/\/\/system\b/.test(uri)) return;
  for (const p of await checkHost()) logger.warn(formatHostProblem(p), { code: p.code, fix: p.fix });
}

/** The push path when targets are configured: each successful collection is queued for every target. */
function openPusher(
  config: AgentConfig,
  agent: Agent,
  extraMetrics: (emit: Emit) => void,
  port: number,
  logger: Logger,
  problems: ProblemLog,
): Pusher | null {
  if (config.push.length === 0) return null;
  const pusher = new Pusher({
    targets: config.push,
    collectors: agent.collectors,
    agentLines: (snap, emit) => exposeAgentLines(agent.status, agent.connection(), snap, emit, extraMetrics),
    port,
    logger,
    problems,
  });
  agent.onSnapshot((snap) => pusher.push(snap));
  agent.onLifecycleEvent((e) => pusher.event(e));
  logger.info("pushing samples", {
    targets: config.push.map((t) => `${t.name} (${t.kind}, every ${t.intervalSeconds} s)`).join(", "),
  });
  return pusher;
}

export async function startAgent(
  config: AgentConfig,
  source: HostSource,
  write: (line: string) => void,
): Promise<RunningAgent> {
  const logger = new Logger(write, config.logLevel);
  const problems = new ProblemLog(logger);
  const g = config.guest;
  // Read first: a bad certificate or key stops the agent before anything is opened.
  const tls = config.tls
    ? readKeyPair(
        config.tls.certFile,
        config.tls.keyFile,
        { cert: "tlsCert", key: "tlsKey" },
        (key, path, message, cause) => new ConfigError(key, path, message, { cause }),
      )
    : null;
  const control = await openControl(config, logger);
  // Opt-in: its own read-write connection (none for socket guests only), so the agent's main one stays read-only.
  const guestView = g.enabled
    ? openGuestView({
        uri: g.libvirt ? (g.uri ?? config.uri) : null,
        tiers: { fast: g.fastSeconds, medium: g.mediumSeconds, slow: g.slowSeconds },
        callTimeoutMs: g.callTimeoutSeconds * 1000,
        custom: g.custom,
      })
    : null;
  const machine = readIdentity();
  const agent = new Agent({
    source,
    identity: {
      hostname: config.identity.hostname ?? machine.hostname,
      hostUuid: config.identity.hostUuid ?? machine.hostUuid,
    },
    collectors: [...selectCollectors(config.collectors), ...(guestView ? [guestView.source] : [])],
    intervalMs: config.intervalSeconds * 1000,
    timeoutMs: config.timeoutSeconds * 1000,
    // Guests outside libvirt: domains of their own (id 0: no hypervisor id), asked over their socket.
    socketGuests: g.enabled
      ? g.sockets.map((s) => ({ name: s.name, uuid: s.uuid, id: 0, socketPath: s.path }))
      : [],
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
  const tracer = isLocalUri(config.uri) ? await openTracer(config, logger) : null;
  const processMetrics = processMetricsExposer();
  let pusher: Pusher | null = null;
  const extraMetrics = (emit: Emit) => {
    processMetrics(emit);
    tracer?.expose(emit);
    pusher?.expose(emit);
  };
  // The console WebSocket's upgrades go through the app, made next: node-ws reads `app` when one arrives.
  const ws: { app: Hono } = { app: new Hono() };
  const nodeWs = createNodeWebSocket(ws);
  const app = createApp(agent, {
    extraMetrics,
    control,
    tracer: tracer?.tracer,
    // The console shares the control connection (read-write, opened only when a guest endpoint is on).
    console: {
      open: control.channels ? (name) => control.channels!.console(name) : null,
      upgradeWebSocket: nodeWs.upgradeWebSocket,
    },
    // Like the tracer, only on the libvirt host: the audit reads QEMU's command line and open flags in /proc.
    diskAudit: isLocalUri(config.uri)
      ? localDiskAudit(config.uri, { runDir: config.libvirtRunDir, procRoot: config.procRoot })
      : null,
  });
  ws.app = app;
  // HTTPS when configured; the console WebSocket's upgrade arrives on it the same way (wss).
  const server = tls
    ? createAdaptorServer({ fetch: app.fetch, createServer: createHttpsServer, serverOptions: tls })
    : createAdaptorServer({ fetch: app.fetch, hostname: config.listenHost, port: config.listenPort });
  nodeWs.injectWebSocket(server as HttpServer);
  // Prometheus keeps its scrape connection open between scrapes (intervals of 10-60 s); Node's default 5 s
  // idle timeout would make every scrape a new TCP connection. Idle sockets cost one descriptor each.
  (server as HttpServer).keepAliveTimeout = KEEP_ALIVE_MS;
  // Node caches its Date header string and clears the cache with a timer one second after each response: a
  // wake-up of the otherwise sleeping agent per scrape. Setting the header ourselves (about a microsecond) skips it.
  server.prependListener("request", (_req: IncomingMessage, res: ServerResponse) =>
    res.setHeader("date", new Date().toUTCString()),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.listenPort, config.listenHost, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch(async (e: unknown) => {
    await guestView?.close();
    await tracer?.tracer.close();
    await closeControl(control);
    throw e;
  });
  const address = server.address() as AddressInfo;
  // A push target's bad token file or unwritable spool stops the agent here, like a bad control token.
  try {
    pusher = openPusher(config, agent, extraMetrics, address.port, logger, problems);
  } catch (e) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await guestView?.close();
    await tracer?.tracer.close();
    await closeControl(control);
    throw e;
  }
  logger.info("agent listening", {
    address: `${address.address}:${address.port}`,
    https: tls !== null,
    uri: config.uri,
    readOnly: config.readOnly,
    intervalSeconds: config.intervalSeconds,
    timeoutSeconds: config.timeoutSeconds,
    collectors: config.collectors.join(","),
    guestView: g.enabled,
    socketGuests: g.enabled ? g.sockets.length : 0,
    control: control.token ? control.token.id : "disabled",
    guestExec: control.token !== null && control.guestExec,
    guestPassthrough: control.token !== null && control.guestPassthrough,
  });
  await reportHostProblems(config.uri, logger);
  pusher?.start();
  agent.start();
  return {
    agent,
    address,
    async stop() {
      await agent.stop();
      await pusher?.stop();
      await tracer?.tracer.close();
      await guestView?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeControl(control);
      logger.info("agent stopped");
    },
  };
}

/**
 * Starts a whole server: state database (tokens, audit, fleet), the sample store from the factory, the app,
 * and an HTTP or HTTPS listener with header and request deadlines (slow clients are cut off). Kept out of the
 * CLI module so tests start a real server on an ephemeral port.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { KvmonError } from "../shared/errors.ts";
import { trustedCas, tlsDispatcher } from "../shared/tls.ts";
import type { AgentTls } from "./api/agent-client.ts";
import { Logger } from "../shared/logger.ts";
import { createServerApp, type Mount } from "./app.ts";
import { AuditStore } from "./auth/audit.ts";
import { TokenStore } from "./auth/tokens.ts";
import { type ServerConfig, ServerConfigError } from "./config.ts";
import { FleetState } from "./fleet/state.ts";
import type { Forwarder } from "./ingest/forward.ts";
import { ServerMetrics } from "./metrics.ts";
import { openStateDb } from "./state-db.ts";
import { ForwardedStore } from "./storage/forwarded.ts";
import type { SeriesStore } from "./storage/types.ts";

/** Opens the configured sample store (embedded SQLite or a Prometheus-compatible URL). */
export type StoreFactory = (config: ServerConfig) => Promise<SeriesStore>;

export interface RunningServer {
  address: AddressInfo;
  /** http(s)://host:port of the listener. */
  url: string;
  stop(): Promise<void>;
}

export class NoAdminTokenError extends KvmonError {
  override name = "NoAdminTokenError";
  constructor(dataDir: string) {
    super("SERVER_NO_ADMIN", `no admin token in ${dataDir}: nobody could manage this server`, {
      hint: `make one first: kvmon server token create --role admin --name <you> --data-dir ${dataDir}`,
    });
  }
}

export interface StartOptions {
  storeFactory: StoreFactory;
  /** Log lines (JSON); absent: discarded. */
  write?: (line: string) => void;
  /** Other parts' route modules (remote_write, the Prometheus API); `metrics` takes the ingest's hooks. */
  mounts?: (store: SeriesStore, metrics: ServerMetrics) => Mount[];
  /** The config's forward targets, shown on /metrics. */
  forwarder?: Forwarder;
  /** The built dashboard to serve at `/` (absent: none). */
  webDir?: string;
}

/** The agentCa as control calls use it; read before anything is opened, so a bad file stops the start. */
function agentTls(config: ServerConfig): AgentTls | null {
  if (config.agentCa === null) return null;
  const ca = trustedCas(
    config.agentCa,
    "agentCa",
    (key, path, message, cause) => new ServerConfigError(key, path, message, { cause }),
  );
  return { ca, dispatcher: tlsDispatcher({ ca }) };
}

export async function startServer(config: ServerConfig, opts: StartOptions): Promise<RunningServer> {
  const logger = new Logger(opts.write ?? (() => undefined), config.logLevel);
  const toAgents = agentTls(config);
  const db = openStateDb(config.dataDir);
  const tokens = new TokenStore(db);
  if (!tokens.hasAdmin()) {
    db.close();
    throw new NoAdminTokenError(config.dataDir);
  }
  const tls = config.tls
    ? {
        key: readFileSync(config.tls.key),
        cert: readFileSync(config.tls.cert),
        ...(config.tls.clientCa
          ? { ca: readFileSync(config.tls.clientCa), requestCert: true, rejectUnauthorized: false }
          : {}),
      }
    : null;
  const store = await opts.storeFactory(config);
  const metrics = new ServerMetrics({ logger });
  if (opts.forwarder) metrics.watch(opts.forwarder);
  if (store instanceof ForwardedStore) metrics.watch(store.forwarder);
  const { app, injectWebSocket } = createServerApp({
    tokens,
    audit: new AuditStore(db),
    fleet: new FleetState(db),
    store,
    limits: config.limits,
    pushIntervalMs: config.pushIntervalSeconds * 1000,
    requireClientCert: config.tls?.clientCa != null,
    ...(toAgents ? { agentTls: toAgents } : {}),
    mounts: opts.mounts?.(store, metrics),
    metrics,
    logger,
    webDir: opts.webDir,
  });
  // Header and request deadlines are checked this often (Node's default, 30 s, would let a slow client linger).
  const timing = { connectionsCheckingInterval: 1000 };
  const server = (
    tls
      ? createAdaptorServer({
          fetch: app.fetch,
          createServer: createHttpsServer,
          serverOptions: { ...tls, ...timing },
        })
      : createAdaptorServer({ fetch: app.fetch, serverOptions: timing })
  ) as Server;
  injectWebSocket(server);
  server.headersTimeout = config.limits.headersTimeoutMs;
  server.requestTimeout = config.limits.requestTimeoutMs;
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.listenPort, config.listenHost, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `${tls ? "https" : "http"}://${host}:${address.port}`;
  logger.info("server listening", {
    url,
    dataDir: config.dataDir,
    storage: config.storage.kind,
    clientCertificates: config.tls?.clientCa != null,
  });
  return {
    address,
    url,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
      await toAgents?.dispatcher.close();
      db.close();
      logger.info("server stopped");
    },
  };
}

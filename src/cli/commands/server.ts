/**
 * `kvmon server`: the fleet server (docs/server.md), and its admin commands on the state database in the data
 * dir: `token create|list|revoke` (API tokens with a role; the secret is printed once) and `host add` (a
 * host's agent token, and where its agent's control API is). Options come from a JSON file, KVMON_SERVER_* env
 * and flags, like the agent's.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { Hono } from "hono";
import { processMetrics } from "../../metrics/process.ts";
import { selfMetrics } from "../../agent/self-metrics.ts";
import { guestMetrics } from "../../collectors/guest/metrics.ts";
import { collectors } from "../../collectors/registry.ts";
import type { MetricSpec } from "../../metrics/catalog.ts";
import { type Mount, SERVER_VERSION } from "../../server/app.ts";
import { type TokenInfo, TokenStore } from "../../server/auth/tokens.ts";
import { ROLES, type Role } from "../../server/auth/types.ts";
import { AuditStore } from "../../server/auth/audit.ts";
import { loadServerConfig, SERVER_KEYS, type ServerConfig, ServerConfigError } from "../../server/config.ts";
import { FleetState } from "../../server/fleet/state.ts";
import { type StoreFactory, startServer } from "../../server/run.ts";
import { openStateDb } from "../../server/state-db.ts";
import { makeHostToken, makeUserToken, revokeToken, type TokenAudit } from "../../server/token-admin.ts";
import { type ForwardLog, Forwarder, type ForwardTarget } from "../../server/ingest/forward.ts";
import { writeRoutes } from "../../server/ingest/routes.ts";
import type { ServerMetrics } from "../../server/metrics.ts";
import { openEmbeddedStore } from "../../server/storage/embedded/store.ts";
import { ForwardedStore } from "../../server/storage/forwarded.ts";
import { PrometheusStore } from "../../server/storage/prometheus/store.ts";
import type { SeriesStore } from "../../server/storage/types.ts";
import { promApiRoutes } from "../../server/prom-api/routes.ts";
import type { CliIo, Command } from "../command.ts";
import { parseCommandArgs } from "../command.ts";
import { CliError, UsageError } from "../errors.ts";
import { type Fields, Logger } from "../../shared/logger.ts";
import { untilStopSignal } from "../signals.ts";

const help = () =>
  `Usage: kvmon server [options]                 run the fleet server
       kvmon server token create --role viewer|operator|admin --name NAME
       kvmon server token list
       kvmon server token revoke ID|NAME
       kvmon server host add NAME [--agent-url URL --control-token-file FILE]

Runs the fleet server: agents push to it (remote_write samples, snapshots, events) with per-host tokens;
people and engines read the JSON API (/api/v1/openapi.json), the Prometheus API, and route control calls to
agents with API tokens carrying a role. It refuses to start without an admin token: make one with
'kvmon server token create --role admin --name <you>'. Tokens are printed once and stored hashed.

Options (each also a key in the --config file and the env variable shown):
  --config <file>              JSON config file                              KVMON_SERVER_CONFIG
  --listen <host:port>         address (default 0.0.0.0:9478)                KVMON_SERVER_LISTEN
  --data-dir <dir>             state and embedded store (default
                               /var/lib/kvmon/server)                        KVMON_SERVER_DATA_DIR
  --storage <embedded|URL>     sample store: embedded SQLite, or a
                               Prometheus-compatible query API URL           KVMON_SERVER_STORAGE
  --tls-cert <file>            serve HTTPS with this certificate ...         KVMON_SERVER_TLS_CERT
  --tls-key <file>             ... and key                                   KVMON_SERVER_TLS_KEY
  --tls-client-ca <file>       agents must present a client certificate
                               signed by this CA                             KVMON_SERVER_TLS_CLIENT_CA
  --agent-ca <file>            trust this CA (besides the system's) for
                               https:// agents in control calls              KVMON_SERVER_AGENT_CA
  --push-interval <seconds>    agents' push interval: up = a push within 3
                               (default 10)                                  KVMON_SERVER_PUSH_INTERVAL
  --max-body-bytes <n>         largest request body (default 32 MiB)         KVMON_SERVER_MAX_BODY_BYTES
  --headers-timeout <seconds>  headers must arrive within (default 10)       KVMON_SERVER_HEADERS_TIMEOUT
  --request-timeout <seconds>  a request must arrive within (default 60)     KVMON_SERVER_REQUEST_TIMEOUT
  --agent-timeout <seconds>    deadline of a control call to an agent
                               (default 30; exec adds its own timeout)       KVMON_SERVER_AGENT_TIMEOUT
  --log-level <level>          debug, info, warn or error (default info)     KVMON_SERVER_LOG_LEVEL

Config file only: "forward": [{"name": "vm", "url": "http://victoria:8428/api/v1/write", "tokenFile": F,
  "spoolMaxBytes": 1073741824, "timeout": 30}]  also sends every ingested batch to these remote_write
  targets, each with a bounded spool in <data-dir>/forward/<name> (an ingest is refused if it cannot be spooled).

token create:  --role ROLE --name NAME   viewer reads; operator also traces, runs guest commands, opens
                                         consoles; admin also reads the audit log
host add:      --agent-url URL           the agent's base URL, for control calls (trace, exec, console)
               --control-token-file F    file (mode 0600) with the agent's control token
`;

const options = {
  config: { type: "string" },
  ...Object.fromEntries(SERVER_KEYS.map((k) => [k.flag, { type: "string" }])),
  role: { type: "string" },
  name: { type: "string" },
  "agent-url": { type: "string" },
  "control-token-file": { type: "string" },
} as Record<string, { type: "string" }>;

/** The sample database in the data dir (next to the state database). */
export const SAMPLES_DB_FILE = "samples.db";

/** The forward spool (batches for the TSDB not yet acknowledged by it) in the data dir, and its bound. */
export const FORWARD_SPOOL_DIR = "forward-spool";
const FORWARD_SPOOL_MAX_BYTES = 1 << 30;

/**
 * The built dashboard: KVMON_WEB_DIR, else .build/web next to the bundled CLI (.build/kvmon.mjs) or at the
 * top of the source tree (src/cli/commands/server.ts).
 */
function webDir(): string {
  if (process.env.KVMON_WEB_DIR) return process.env.KVMON_WEB_DIR;
  const candidates = [new URL("web", import.meta.url), new URL("../../../.build/web", import.meta.url)];
  return fileURLToPath(candidates.find((u) => existsSync(fileURLToPath(u))) ?? candidates[1]!);
}

/** The forwarder's reports as the server's log lines. */
const forwardLog =
  (logger: Logger): ForwardLog =>
  (level, message, fields) =>
    logger.log(level, message, fields as Fields);

/**
 * The sample stores by kind: embedded SQLite in the data dir; or a Prometheus-compatible TSDB, read through its
 * query API and written through its remote_write endpoint (`<url>/api/v1/write`, VictoriaMetrics' and
 * Prometheus' receiver path) with a spool in the data dir.
 */
export const storeFactories: Record<ServerConfig["storage"]["kind"], StoreFactory> = {
  embedded: (c) => Promise.resolve(openEmbeddedStore({ path: join(c.dataDir, SAMPLES_DB_FILE) })),
  prometheus: (c) => {
    const url = c.storage.kind === "prometheus" ? c.storage.url.replace(/\/+$/, "") : "";
    const forwarder = new Forwarder(
      [
        {
          name: "tsdb",
          url: `${url}/api/v1/write`,
          token: null,
          timeoutMs: c.limits.agentTimeoutMs,
          spoolDir: join(c.dataDir, FORWARD_SPOOL_DIR),
          spoolMaxBytes: FORWARD_SPOOL_MAX_BYTES,
        },
      ],
      forwardLog(new Logger((l) => process.stderr.write(l), c.logLevel)),
    );
    return Promise.resolve(new ForwardedStore(new PrometheusStore({ url }), forwarder));
  },
};

/**
 * The config's `forward` targets (every ingested batch also goes to them, each with a spool in
 * `<dataDir>/forward/<name>`); null when there are none. A token file that cannot be read stops the start.
 */
export function openForwarder(c: ServerConfig, write: (line: string) => void): Forwarder | null {
  if (c.forward.length === 0) return null;
  const targets: ForwardTarget[] = c.forward.map((t, i) => ({
    name: t.name,
    url: t.url,
    token: t.tokenFile === null ? null : readTokenFile(t.tokenFile, `forward.${i}.tokenFile`),
    timeoutMs: t.timeoutMs,
    spoolDir: join(c.dataDir, "forward", t.name),
    spoolMaxBytes: t.spoolMaxBytes,
  }));
  return new Forwarder(targets, forwardLog(new Logger(write, c.logLevel)));
}

/**
 * Every family an agent can push (its collectors, guest metrics, self and process metrics), for the
 * Prometheus API's /metadata. Gathered here because the server may not import collectors or the agent.
 */
export function metricCatalog(): MetricSpec[] {
  const all = [
    ...collectors.flatMap((c) => c.metrics),
    ...guestMetrics,
    ...Object.values(selfMetrics),
    ...Object.values(processMetrics),
  ];
  return [...new Map(all.map((m) => [m.name, m])).values()];
}

/**
 * The other parts' routes the server serves at their own paths: remote_write ingest (host tokens; what it
 * stores also goes to the forwarder's targets; what it accepts and refuses is counted in `metrics`) and the
 * Prometheus-compatible query API (viewers and up).
 */
export function serverMounts(store: SeriesStore, metrics?: ServerMetrics, forwarder?: Forwarder): Mount[] {
  return [
    {
      prefix: "",
      access: "host",
      summary: "Prometheus remote_write 1.0 ingest (agents)",
      routes: writeRoutes({
        store,
        ...(forwarder ? { forwarder } : {}),
        ...metrics?.ingestHooks(),
      }) as unknown as Hono,
    },
    {
      prefix: "",
      access: "viewer",
      summary: "Prometheus-compatible query API (Grafana's data source)",
      routes: promApiRoutes({ store, catalog: metricCatalog(), version: SERVER_VERSION }),
    },
  ];
}

function config(values: Record<string, string | undefined>): ServerConfig {
  try {
    return loadServerConfig({ flags: values, env: process.env });
  } catch (e) {
    if (e instanceof ServerConfigError)
      throw new CliError(e.message, { code: e.code, hint: "see 'kvmon server --help'", cause: e });
    throw e;
  }
}

/** Who did an admin action from the CLI, for the audit log. */
const cliUser = () => `cli:${userInfo().username}`;

/** An admin action taken from the CLI (token create/revoke, host add; also the quick start's), as `cli:<user>`. */
export function auditCli(audit: AuditStore, action: string, { host, what }: TokenAudit) {
  audit.write({
    time: Date.now(),
    who: cliUser(),
    from: null,
    action,
    host,
    domain: null,
    what,
    outcome: "ok",
    status: 0,
    code: null,
    durationMs: 0,
  });
}

const row = (t: TokenInfo) =>
  [
    t.id,
    t.kind.padEnd(4),
    (t.role ?? "-").padEnd(8),
    t.name.padEnd(24),
    new Date(t.createdAt).toISOString(),
    t.lastUsedAt === null ? "never used".padEnd(29) : `used ${new Date(t.lastUsedAt).toISOString()}`,
    t.revokedAt === null ? "live" : `revoked ${new Date(t.revokedAt).toISOString()}`,
  ].join("  ");

/** A token from a 0600 file; `what` names the flag or config key in errors. */
function readTokenFile(path: string, what: string, minLength = 1): string {
  let mode: number;
  let token: string;
  try {
    mode = statSync(path).mode;
    token = readFileSync(path, "utf8").trim();
  } catch (e) {
    throw new UsageError(`${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
  if ((mode & 0o077) !== 0)
    throw new UsageError(`${what} ${path}: group or others can read it; chmod 600 it`);
  if (token.length < minLength)
    throw new UsageError(`${what} ${path}: the token is shorter than ${minLength} characters`);
  return token;
}

function admin(sub: string[], values: Record<string, string | undefined>, io: CliIo): number {
  const c = config(values);
  const db = openStateDb(c.dataDir);
  try {
    const tokens = new TokenStore(db);
    const audit = new AuditStore(db);
    const [group, action, arg, ...extra] = sub;
    if (extra.length > 0) throw new UsageError(`server: unexpected argument '${extra[0]}'`);
    if (group === "token" && action === "create") {
      const role = values.role;
      if (!role || !(ROLES as readonly string[]).includes(role))
        throw new UsageError(`server token create: --role must be one of ${ROLES.join(", ")}`);
      if (!values.name) throw new UsageError("server token create: --name is required");
      const { token, info, audit: note } = makeUserToken(tokens, values.name, role as Role);
      auditCli(audit, "token-create", note);
      io.err(`token ${info.id} for ${info.name} (${role}); shown once, keep it:\n`);
      io.out(`${token}\n`);
      return 0;
    }
    if (group === "token" && action === "list") {
      for (const t of tokens.list()) io.out(`${row(t)}\n`);
      return 0;
    }
    if (group === "token" && action === "revoke" && arg) {
      const { info, audit: note } = revokeToken(tokens, arg);
      auditCli(audit, "token-revoke", note);
      io.out(`revoked ${info.id} (${info.kind} ${info.name})\n`);
      return 0;
    }
    if (group === "host" && action === "add" && arg) {
      const url = values["agent-url"];
      if (url !== undefined && !/^https?:\/\/[^\s/]+/.test(url))
        throw new UsageError(`server host add: --agent-url '${url}' is not an http(s) URL`);
      const file = values["control-token-file"];
      if (file !== undefined && url === undefined)
        throw new UsageError("server host add: --control-token-file goes with --agent-url");
      const controlToken = file === undefined ? null : readTokenFile(file, "--control-token-file", 16);
      const agent = url === undefined ? null : { url, controlToken };
      const { token, info, audit: note } = makeHostToken(tokens, new FleetState(db), arg, agent);
      auditCli(audit, "host-add", note);
      io.err(`host token ${info.id} for ${arg}; give it to the agent, shown once:\n`);
      io.out(`${token}\n`);
      return 0;
    }
    throw new UsageError(`server: unknown command '${sub.join(" ")}' (see 'kvmon server --help')`);
  } finally {
    db.close();
  }
}

export const serverCommand: Command = {
  name: "server",
  summary: "run the fleet server, or manage its tokens and hosts",
  help,
  handler: async (argv, io) => {
    const { values, positionals } = parseCommandArgs("server", argv, options);
    const v = values as Record<string, string | undefined>;
    if (positionals.length > 0) return admin(positionals, v, io);
    const c = config(v);
    const forwarder = openForwarder(c, (l) => io.err(l));
    let running: Awaited<ReturnType<typeof startServer>>;
    try {
      running = await startServer(c, {
        storeFactory: storeFactories[c.storage.kind],
        mounts: (store, metrics) => serverMounts(store, metrics, forwarder ?? undefined),
        ...(forwarder ? { forwarder } : {}),
        write: (l) => io.err(l),
        webDir: webDir(),
      });
    } catch (e) {
      await forwarder?.stop();
      const err = e as NodeJS.ErrnoException;
      if (err.code === "EADDRINUSE" || err.code === "EACCES")
        throw new CliError(`cannot listen on ${c.listenHost}:${c.listenPort}: ${err.message}`, {
          code: "SERVER_LISTEN",
          hint: "choose another address with --listen or KVMON_SERVER_LISTEN",
          cause: e,
        });
      throw e;
    }
    forwarder?.start();
    await untilStopSignal(async () => {
      await running.stop();
      await forwarder?.stop();
    });
    return 0;
  },
};

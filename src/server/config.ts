/**
 * `kvmon server` configuration, as the agent's: defaults < JSON file (--config / KVMON_SERVER_CONFIG) <
 * environment (KVMON_SERVER_*) < flags, validated with zod after merging; a bad value is a ServerConfigError
 * naming the key and where it came from. The default port is 9478, next to the agent's 9477.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { KvmonError, type KvmonErrorOptions } from "../shared/errors.ts";

export const DEFAULT_PORT = 9478;
export const DEFAULT_DATA_DIR = "/var/lib/kvmon/server";

export class ServerConfigError extends KvmonError {
  override name = "ServerConfigError";
  readonly key: string;
  constructor(key: string, origin: string, message: string, options?: KvmonErrorOptions) {
    super("CONFIG_INVALID", `config ${key} (${origin}): ${message}`, options);
    this.key = key;
  }
}

export interface ServerLimits {
  /** Largest request body (a snapshot of a big host is a few MiB). */
  maxBodyBytes: number;
  /** A request's headers must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** A whole request must arrive within this. */
  requestTimeoutMs: number;
  /** Deadline of each call to an agent's control API. */
  agentTimeoutMs: number;
}

/** A Prometheus-compatible TSDB the server forwards everything it ingests to (config file key `forward`). */
export interface ForwardTargetConfig {
  /** Names the target in logs and metrics and its spool's directory (`<dataDir>/forward/<name>`). */
  name: string;
  /** Its remote_write endpoint, e.g. http://victoria:8428/api/v1/write. */
  url: string;
  /** File (mode 0600) with a bearer token for it. */
  tokenFile: string | null;
  spoolMaxBytes: number;
  timeoutMs: number;
}

export interface ServerConfig {
  listenHost: string;
  listenPort: number;
  dataDir: string;
  /** `embedded` (SQLite in the data dir) or the base URL of a Prometheus-compatible query API. */
  storage: { kind: "embedded" } | { kind: "prometheus"; url: string };
  /** Forwarded to besides the store (file only: a list does not fit a flag). */
  forward: ForwardTargetConfig[];
  tls: { cert: string; key: string; clientCa: string | null } | null;
  /** CA file trusted (besides the system's) for https:// agents' certificates in control calls. */
  agentCa: string | null;
  /** Agents push every this many seconds: an agent is up while its last push is within 3 of them. */
  pushIntervalSeconds: number;
  limits: ServerLimits;
  logLevel: "debug" | "info" | "warn" | "error";
}

const positive = (max: number) => z.number().positive("must be more than 0").max(max);
const forwardTarget = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "must be 1 to 64 letters, digits, '-' or '_'"),
    url: z.string().regex(/^https?:\/\/[^\s/]+/, "must be the http(s):// URL of a remote_write endpoint"),
    tokenFile: z.string().min(1).optional(),
    spoolMaxBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(1 << 30),
    timeout: positive(600).default(30),
  })
  .strict();
const schema = z
  .object({
    listen: z.string().default(`0.0.0.0:${DEFAULT_PORT}`),
    dataDir: z.string().min(1, "must not be empty").default(DEFAULT_DATA_DIR),
    storage: z
      .string()
      .refine((s) => s === "embedded" || /^https?:\/\/[^\s/]+/.test(s), {
        message: "must be 'embedded' or the http(s):// URL of a Prometheus-compatible query API",
      })
      .default("embedded"),
    forward: z
      .array(forwardTarget)
      .max(16)
      .refine((ts) => new Set(ts.map((t) => t.name)).size === ts.length, {
        message: "target names must differ (each names its spool)",
      })
      .default([]),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    tlsClientCa: z.string().min(1).optional(),
    agentCa: z.string().min(1).optional(),
    pushInterval: positive(3600).default(10),
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(1 << 30)
      .default(32 * 1024 * 1024),
    headersTimeout: positive(600).default(10),
    requestTimeout: positive(3600).default(60),
    agentTimeout: positive(600).default(30),
    logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
  })
  .strict();

/** Config keys with their env variable and flag; `kind` says how a string from env or a flag is converted. */
export const SERVER_KEYS = [
  { key: "listen", env: "KVMON_SERVER_LISTEN", flag: "listen", kind: "string" },
  { key: "dataDir", env: "KVMON_SERVER_DATA_DIR", flag: "data-dir", kind: "string" },
  { key: "storage", env: "KVMON_SERVER_STORAGE", flag: "storage", kind: "string" },
  { key: "tlsCert", env: "KVMON_SERVER_TLS_CERT", flag: "tls-cert", kind: "string" },
  { key: "tlsKey", env: "KVMON_SERVER_TLS_KEY", flag: "tls-key", kind: "string" },
  { key: "tlsClientCa", env: "KVMON_SERVER_TLS_CLIENT_CA", flag: "tls-client-ca", kind: "string" },
  { key: "agentCa", env: "KVMON_SERVER_AGENT_CA", flag: "agent-ca", kind: "string" },
  { key: "pushInterval", env: "KVMON_SERVER_PUSH_INTERVAL", flag: "push-interval", kind: "number" },
  { key: "maxBodyBytes", env: "KVMON_SERVER_MAX_BODY_BYTES", flag: "max-body-bytes", kind: "number" },
  { key: "headersTimeout", env: "KVMON_SERVER_HEADERS_TIMEOUT", flag: "headers-timeout", kind: "number" },
  { key: "requestTimeout", env: "KVMON_SERVER_REQUEST_TIMEOUT", flag: "request-timeout", kind: "number" },
  { key: "agentTimeout", env: "KVMON_SERVER_AGENT_TIMEOUT", flag: "agent-timeout", kind: "number" },
  { key: "logLevel", env: "KVMON_SERVER_LOG_LEVEL", flag: "log-level", kind: "string" },
] as const;

export interface ServerConfigSources {
  /** Flag values as parsed (strings), keyed by flag name; `config` names the file. */
  flags?: Record<string, string | undefined>;
  env?: Record<string, string | undefined>;
  readFile?: (path: string) => string;
}

export function loadServerConfig(src: ServerConfigSources): ServerConfig {
  const origin = new Map<string, string>();
  const merged: Record<string, unknown> = {};
  const env = src.env ?? {};
  const file = src.flags?.config ?? env.KVMON_SERVER_CONFIG;
  if (file !== undefined) {
    for (const [k, v] of Object.entries(readJsonObject(file, src.readFile))) {
      merged[k] = v;
      origin.set(k, `file ${file}`);
    }
  }
  for (const k of SERVER_KEYS) {
    for (const [v, from] of [
      [env[k.env], `env ${k.env}`],
      [src.flags?.[k.flag], `flag --${k.flag}`],
    ] as const) {
      if (v === undefined) continue;
      merged[k.key] = k.kind === "number" && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : v;
      origin.set(k.key, from);
    }
  }
  const at = (key: string) => origin.get(key) ?? "default";
  const r = schema.safeParse(merged);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.code === "unrecognized_keys" && issue.path.length === 0)
      throw new ServerConfigError(
        issue.keys.join(", "),
        file === undefined ? "config" : `file ${file}`,
        `unknown key (known: ${[...SERVER_KEYS.map((k) => k.key), "forward"].join(", ")})`,
      );
    // A list's entry is named by its path (forward.0.url); where it came from, by the top key.
    const key = issue.path.length > 0 ? issue.path.map(String).join(".") : "config";
    throw new ServerConfigError(key, at(String(issue.path[0] ?? "config")), issue.message);
  }
  const c = r.data;
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined))
    throw new ServerConfigError(
      c.tlsCert === undefined ? "tlsCert" : "tlsKey",
      at(c.tlsCert === undefined ? "tlsKey" : "tlsCert"),
      "TLS needs both tlsCert and tlsKey",
    );
  if (c.tlsClientCa !== undefined && c.tlsCert === undefined)
    throw new ServerConfigError("tlsClientCa", at("tlsClientCa"), "needs TLS (tlsCert and tlsKey)");
  const [listenHost, listenPort] = parseListen(c.listen, at("listen"));
  return {
    listenHost,
    listenPort,
    dataDir: c.dataDir,
    storage: c.storage === "embedded" ? { kind: "embedded" } : { kind: "prometheus", url: c.storage },
    forward: c.forward.map((t) => ({
      name: t.name,
      url: t.url,
      tokenFile: t.tokenFile ?? null,
      spoolMaxBytes: t.spoolMaxBytes,
      timeoutMs: t.timeout * 1000,
    })),
    tls:
      c.tlsCert !== undefined && c.tlsKey !== undefined
        ? { cert: c.tlsCert, key: c.tlsKey, clientCa: c.tlsClientCa ?? null }
        : null,
    agentCa: c.agentCa ?? null,
    pushIntervalSeconds: c.pushInterval,
    limits: {
      maxBodyBytes: c.maxBodyBytes,
      headersTimeoutMs: c.headersTimeout * 1000,
      requestTimeoutMs: c.requestTimeout * 1000,
      agentTimeoutMs: c.agentTimeout * 1000,
    },
    logLevel: c.logLevel,
  };
}

function readJsonObject(
  path: string,
  read = (p: string) => readFileSync(p, "utf8"),
): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(read(path));
  } catch (e) {
    throw new ServerConfigError("config", `file ${path}`, (e as Error).message, { cause: e });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ServerConfigError("config", `file ${path}`, "must be a JSON object");
  return v as Record<string, unknown>;
}

/** "0.0.0.0:9478", "[::]:9478", ":9478" (all addresses), "9478". */
function parseListen(s: string, origin: string): [string, number] {
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)?(\d+)$/.exec(s.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new ServerConfigError("listen", origin, `'${s}' is not host:port with a port from 0 to 65535`);
  const host = m[1] ?? m[2] ?? "";
  return [host === "" ? "0.0.0.0" : host, port];
}

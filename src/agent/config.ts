/**
 * Agent configuration: defaults < JSON file (--config / KVMON_CONFIG) < environment (KVMON_*) < flags,
 * validated with zod after merging. A bad value is a ConfigError at start-up naming the key and where it came
 * from ("interval (env KVMON_INTERVAL): must be at least 1"), never a crash later.
 *
 * The default port is 9477: 9177 is prometheus-libvirt-exporter's, so both can run side by side during a
 * migration or a benchmark.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import {
  type CustomCommand,
  customCommandsSchema,
  type SocketGuest,
  socketGuestsSchema,
} from "../collectors/guest/index.ts";
import { collectorNames, defaultCollectorNames } from "../collectors/registry.ts";
import { DEFAULT_AUDIT_LOG } from "./control/audit.ts";
import { ConfigError } from "./errors.ts";
import type { PushTargetConfig } from "./push/pusher.ts";

export const DEFAULT_PORT = 9477;

export interface AgentConfig {
  listenHost: string;
  listenPort: number;
  intervalSeconds: number;
  timeoutSeconds: number;
  uri: string;
  readOnly: boolean;
  collectors: string[];
  logLevel: "debug" | "info" | "warn" | "error";
  procRoot: string;
  libvirtRunDir: string;
  guest: GuestViewConfig;
  control: ControlConfig;
  trace: TraceConfig;
  /** Where the agent pushes its samples (src/agent/push); none by default. */
  push: PushTargetConfig[];
  /** Serve HTTPS with this certificate and key (PEM files); null = plain HTTP. */
  tls: { certFile: string; keyFile: string } | null;
  /**
   * The host identity the agent reports (snapshot, pushed `host`/`instance` labels) instead of the machine's
   * (identity.ts); null: the machine's. Two agents on one machine (tests, a host behind a NAT'd name) set it.
   */
  identity: { hostname: string | null; hostUuid: string | null };
}

/** Where a push target's spool lives when the config names no `spoolDir`: one directory per target name. */
export const DEFAULT_SPOOL_ROOT = "/var/lib/kvmon/spool";

/** The KVM exit tracer (issue 12): off until switched on through the API; these bound what a request gets. */
export interface TraceConfig {
  /** Longest run a request may ask for (its default is 60 s). */
  maxDurationSeconds: number;
  /** Recent events kept per domain. */
  ringSize: number;
  /** Per-CPU ring-buffer size of the tracefs instance. */
  bufferKb: number;
}

/**
 * The control API (issue 11, commands in the guest): a token (no token = control endpoints off), the audit
 * log, and one switch per endpoint; both endpoints also need the guest view (its read-write URI).
 */
export interface ControlConfig {
  /** The token itself (file key or env KVMON_CONTROL_TOKEN; never a flag, which `ps` would show). */
  token: string | null;
  /** A file holding the token, mode 0600 or stricter. */
  tokenFile: string | null;
  auditLog: string;
  guestExec: boolean;
  guestPassthrough: boolean;
}

/**
 * The guest view (issue 11): opt-in; libvirt's domains on its own read-write libvirt connection, guests outside
 * libvirt over their agent's unix socket.
 */
export interface GuestViewConfig {
  enabled: boolean;
  /** Read libvirt's domains (false: socket guests only, and no read-write libvirt connection). */
  libvirt: boolean;
  /** Guests outside libvirt, reached over their agent's unix socket (file key guest.sockets). */
  sockets: SocketGuest[];
  /** libvirt URI of the read-write connection; the agent's `uri` when null. */
  uri: string | null;
  /** Seconds between reads per cadence tier. */
  fastSeconds: number;
  mediumSeconds: number;
  slowSeconds: number;
  /** Deadline of one guest-agent call. */
  callTimeoutSeconds: number;
  /** Custom agent commands and the metrics their replies become (file key guest.custom; docs/guest-agent.md). */
  custom: CustomCommand[];
}

const seconds = (dflt: number) => z.number().min(1, "must be at least 1 (second)").max(86400).default(dflt);
const guestSchema = z
  .object({
    enabled: z.boolean().default(true),
    libvirt: z.boolean().default(true),
    sockets: socketGuestsSchema,
    uri: z.string().min(1, "must not be empty").optional(),
    fast: seconds(10),
    medium: seconds(120),
    slow: seconds(60),
    callTimeout: z.number().min(0.1).max(60).default(2),
    custom: customCommandsSchema,
  })
  .strict();

const traceSchema = z
  .object({
    maxDurationSeconds: z.number().min(1).max(86400).default(600),
    ringSize: z.number().int().min(1).max(1_000_000).default(1024),
    bufferKb: z.number().int().min(64).max(1_048_576).default(4096),
  })
  .strict()
  .default({ maxDurationSeconds: 600, ringSize: 1024, bufferKb: 4096 });

const httpUrl = z.string().refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), {
  message: "must be an http:// or https:// URL",
});

const pushTargetSchema = z
  .object({
    url: httpUrl,
    kind: z.enum(["kvmon", "remote-write"]).default("remote-write"),
    name: z.string().min(1).optional(),
    tokenFile: z.string().min(1).optional(),
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    intervalSeconds: z.number().min(1).max(3600).optional(),
    timeoutSeconds: z.number().min(0.1).max(300).default(10),
    spoolDir: z.string().min(1).optional(),
    spoolMaxBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(256 * 1024 * 1024),
  })
  .strict();

/** Keys as written in the file; env and flag names derive from them (see KEYS). */
const schema = z
  .object({
    listen: z.string().default(`0.0.0.0:${DEFAULT_PORT}`),
    interval: z.number().min(1, "must be at least 1 (second)").max(3600, "must be at most 3600").default(10),
    timeout: z.number().min(0.1, "must be at least 0.1 (second)").optional(),
    uri: z.string().min(1, "must not be empty").default("qemu:///system"),
    readOnly: z.boolean().default(true),
    collectors: z.union([z.string(), z.array(z.string())]).optional(),
    logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
    procRoot: z.string().default("/proc"),
    libvirtRunDir: z.string().default("/run/libvirt/qemu"),
    // true/false (env, flag) or the whole object (file); `{...}` alone means enabled.
    guest: z.union([z.boolean().transform((enabled) => ({ enabled })), z.unknown()]).optional(),
    // The control API: token, audit log, endpoint switches.
    controlToken: z.string().min(1, "must not be empty").optional(),
    controlTokenFile: z.string().min(1, "must not be empty").optional(),
    auditLog: z.string().min(1, "must not be empty").default(DEFAULT_AUDIT_LOG),
    guestExec: z.boolean().default(false),
    guestPassthrough: z.boolean().default(false),
    // The tracer's bounds (file only: {maxDurationSeconds, ringSize, bufferKb}).
    trace: traceSchema,
    // HTTPS: both or neither.
    tlsCert: z.string().min(1, "must not be empty").optional(),
    tlsKey: z.string().min(1, "must not be empty").optional(),
    // Targets (file: a list of objects; env/flag: comma-separated remote_write URLs with the defaults).
    push: z
      .union([
        z.string().transform((v) =>
          v
            .split(",")
            .map((u) => u.trim())
            .filter((u) => u !== "")
            .map((url) => ({ url })),
        ),
        z.array(z.unknown()),
      ])
      .default([]),
    hostName: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/, "must be a host name (letters, digits, . _ -)")
      .optional(),
    hostUuid: z
      .string()
      .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "must be a lowercase UUID")
      .optional(),
  })
  .strict();

type Raw = Record<string, unknown>;

/** Config keys with their env variable and flag; `kind` says how a string from env/flags is converted. */
export const KEYS = [
  { key: "listen", env: "KVMON_LISTEN", flag: "listen", kind: "string" },
  { key: "interval", env: "KVMON_INTERVAL", flag: "interval", kind: "number" },
  { key: "timeout", env: "KVMON_TIMEOUT", flag: "timeout", kind: "number" },
  { key: "uri", env: "KVMON_URI", flag: "uri", kind: "string" },
  { key: "readOnly", env: "KVMON_READ_ONLY", flag: "read-only", kind: "boolean" },
  { key: "collectors", env: "KVMON_COLLECTORS", flag: "collectors", kind: "string" },
  { key: "logLevel", env: "KVMON_LOG_LEVEL", flag: "log-level", kind: "string" },
  { key: "procRoot", env: "KVMON_PROC_ROOT", flag: "proc-root", kind: "string" },
  { key: "libvirtRunDir", env: "KVMON_LIBVIRT_RUN_DIR", flag: "libvirt-run-dir", kind: "string" },
  { key: "guest", env: "KVMON_GUEST", flag: "guest", kind: "boolean" },
  { key: "controlTokenFile", env: "KVMON_CONTROL_TOKEN_FILE", flag: "control-token-file", kind: "string" },
  { key: "auditLog", env: "KVMON_AUDIT_LOG", flag: "audit-log", kind: "string" },
  { key: "guestExec", env: "KVMON_GUEST_EXEC", flag: "guest-exec", kind: "boolean" },
  { key: "guestPassthrough", env: "KVMON_GUEST_PASSTHROUGH", flag: "guest-passthrough", kind: "boolean" },
  { key: "push", env: "KVMON_PUSH", flag: "push", kind: "string" },
  { key: "tlsCert", env: "KVMON_TLS_CERT", flag: "tls-cert", kind: "string" },
  { key: "tlsKey", env: "KVMON_TLS_KEY", flag: "tls-key", kind: "string" },
  { key: "hostName", env: "KVMON_HOST_NAME", flag: "host-name", kind: "string" },
  { key: "hostUuid", env: "KVMON_HOST_UUID", flag: "host-uuid", kind: "string" },
] as const;

/** Keys settable in the file and the environment only: a secret on the command line is visible to `ps`. */
export const ENV_ONLY_KEYS = [{ key: "controlToken", env: "KVMON_CONTROL_TOKEN", kind: "string" }] as const;

function convert(kind: string, v: string): unknown {
  if (kind === "number") return v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : v;
  if (kind === "boolean") {
    if (["1", "true", "yes"].includes(v.toLowerCase())) return true;
    if (["0", "false", "no"].includes(v.toLowerCase())) return false;
  }
  return v;
}

export interface ConfigSources {
  /** Flag values as parsed (strings), keyed by flag name. */
  flags?: Record<string, string | undefined>;
  env?: Record<string, string | undefined>;
  /** Path of the JSON config file; the file's absence when named is an error. */
  file?: string;
  readFile?: (path: string) => string;
}

export function loadConfig(src: ConfigSources): AgentConfig {
  const origin = new Map<string, string>();
  const merged: Raw = {};
  const env = src.env ?? {};
  const file = src.flags?.config ?? env.KVMON_CONFIG ?? src.file;
  if (file !== undefined) {
    const fromFile = readJson(file, src.readFile ?? ((p) => readFileSync(p, "utf8")));
    for (const [k, v] of Object.entries(fromFile)) {
      merged[k] = v;
      origin.set(k, `file ${file}`);
    }
  }
  for (const k of [...KEYS, ...ENV_ONLY_KEYS]) {
    const v = env[k.env];
    if (v === undefined) continue;
    put(merged, k.key, convert(k.kind, v));
    origin.set(k.key, `env ${k.env}`);
  }
  for (const k of KEYS) {
    const v = src.flags?.[k.flag];
    if (v === undefined) continue;
    put(merged, k.key, convert(k.kind, v));
    origin.set(k.key, `flag --${k.flag}`);
  }
  const r = schema.safeParse(merged);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key =
      issue.code === "unrecognized_keys" ? issue.keys.join(", ") : String(issue.path[0] ?? "config");
    const message =
      issue.code === "unrecognized_keys"
        ? `unknown key (known: ${[...KEYS, ...ENV_ONLY_KEYS].map((k) => k.key).join(", ")})`
        : issue.message;
    throw new ConfigError(key, origin.get(key) ?? "file", message);
  }
  const c = r.data;
  const at = (key: string) => origin.get(key) ?? "default";
  const [listenHost, listenPort] = parseListen(c.listen, at("listen"));
  const timeoutSeconds = c.timeout ?? Math.min(5, c.interval * 0.8);
  if (timeoutSeconds > c.interval) {
    throw new ConfigError(
      "timeout",
      at("timeout"),
      `${timeoutSeconds} s exceeds the interval (${c.interval} s)`,
    );
  }
  const guest = parseGuest(c.guest, at("guest"));
  for (const key of ["guestExec", "guestPassthrough"] as const)
    if (c[key] && !(guest.enabled && guest.libvirt))
      throw new ConfigError(key, at(key), "needs the guest view (guest) and its read-write connection");
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
    const missing = c.tlsCert === undefined ? "tlsCert" : "tlsKey";
    throw new ConfigError(
      missing,
      at(missing === "tlsCert" ? "tlsKey" : "tlsCert"),
      "HTTPS needs both tlsCert and tlsKey",
    );
  }
  return {
    listenHost,
    listenPort,
    intervalSeconds: c.interval,
    timeoutSeconds,
    uri: c.uri,
    readOnly: c.readOnly,
    collectors: resolveCollectors(c.collectors, at("collectors")),
    logLevel: c.logLevel,
    procRoot: c.procRoot,
    libvirtRunDir: c.libvirtRunDir,
    guest,
    control: {
      token: c.controlToken ?? null,
      tokenFile: c.controlTokenFile ?? null,
      auditLog: c.auditLog,
      guestExec: c.guestExec,
      guestPassthrough: c.guestPassthrough,
    },
    trace: c.trace,
    push: parsePush(c.push, at("push"), c.interval),
    tls:
      c.tlsCert !== undefined && c.tlsKey !== undefined ? { certFile: c.tlsCert, keyFile: c.tlsKey } : null,
    identity: { hostname: c.hostName ?? null, hostUuid: c.hostUuid ?? null },
  };
}

/** A target's default name: its URL without credentials, query or trailing slash. */
function targetName(url: string): string {
  const u = new URL(url);
  return `${u.host}${u.pathname}`.replace(/\/+$/, "");
}

function parsePush(items: readonly unknown[], origin: string, interval: number): PushTargetConfig[] {
  const targets = items.map((item, i) => {
    const r = pushTargetSchema.safeParse(item);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const where = [
        i,
        ...issue.path,
        ...(issue.code === "unrecognized_keys" ? [issue.keys.join(", ")] : []),
      ];
      throw new ConfigError(
        `push.${where.join(".")}`,
        origin,
        issue.code === "unrecognized_keys" ? "unknown key" : issue.message,
      );
    }
    const t = r.data;
    const name = t.name ?? targetName(t.url);
    return {
      name,
      url: t.url,
      kind: t.kind,
      tokenFile: t.tokenFile ?? null,
      caFile: t.caFile ?? null,
      certFile: t.certFile ?? null,
      keyFile: t.keyFile ?? null,
      intervalSeconds: t.intervalSeconds ?? interval,
      timeoutSeconds: t.timeoutSeconds,
      spoolDir: t.spoolDir ?? `${DEFAULT_SPOOL_ROOT}/${name.replace(/[^a-zA-Z0-9._-]/g, "_")}`,
      spoolMaxBytes: t.spoolMaxBytes,
    };
  });
  for (const key of ["name", "spoolDir"] as const) {
    const seen = new Set<string>();
    for (const t of targets) {
      if (seen.has(t[key]))
        throw new ConfigError(`push.${key}`, origin, `two targets share ${key} ${t[key]}; give each its own`);
      seen.add(t[key]);
    }
  }
  return targets;
}

/** A boolean from env or a flag turns the guest view on or off and keeps the file's other guest settings. */
function put(merged: Raw, key: string, v: unknown): void {
  const prev = merged[key];
  if (key === "guest" && typeof v === "boolean" && typeof prev === "object" && prev !== null)
    merged[key] = { ...prev, enabled: v };
  else merged[key] = v;
}

function parseGuest(v: unknown, origin: string): GuestViewConfig {
  const r = guestSchema.safeParse(v ?? { enabled: false });
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = [
      ...issue.path,
      ...(issue.code === "unrecognized_keys" ? [issue.keys.join(", ")] : []),
    ].join(".");
    throw new ConfigError(
      `guest.${where}`,
      origin,
      issue.code === "unrecognized_keys" ? "unknown key" : issue.message,
    );
  }
  const g = r.data;
  if (g.callTimeout > g.fast) throw new ConfigError("guest.callTimeout", origin, "exceeds the fast tier");
  if (g.enabled && !g.libvirt && g.sockets.length === 0)
    throw new ConfigError(
      "guest.libvirt",
      origin,
      "false leaves the guest view nothing to read: add guest.sockets",
    );
  return {
    enabled: g.enabled,
    libvirt: g.libvirt,
    sockets: g.sockets,
    uri: g.uri ?? null,
    fastSeconds: g.fast,
    mediumSeconds: g.medium,
    slowSeconds: g.slow,
    callTimeoutSeconds: g.callTimeout,
    custom: g.custom,
  };
}

function readJson(path: string, read: (p: string) => string): Raw {
  let text: string;
  try {
    text = read(path);
  } catch (e) {
    throw new ConfigError("config", `file ${path}`, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError("config", `file ${path}`, `not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ConfigError("config", `file ${path}`, "must be a JSON object");
  }
  return v as Raw;
}

/** "0.0.0.0:9477", "[::]:9477", ":9477" (all addresses), "9477". */
export function parseListen(s: string, origin: string): [string, number] {
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)?(\d+)$/.exec(s.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(
      "listen",
      origin,
      `'${s}' is not host:port with a port from 0 (any free port) to 65535`,
    );
  }
  const host = m[1] ?? m[2] ?? "";
  return [host === "" ? "0.0.0.0" : host, port];
}

/** "state,cpu" = exactly these; "+kvm,-block" = the defaults changed; unknown names are errors. */
export function resolveCollectors(v: string | string[] | undefined, origin: string): string[] {
  if (v === undefined) return defaultCollectorNames();
  const items = (Array.isArray(v) ? v : v.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  const relative = items.filter((s) => s.startsWith("+") || s.startsWith("-"));
  if (relative.length > 0 && relative.length !== items.length) {
    throw new ConfigError("collectors", origin, "mixes a plain list with +name/-name changes; use one style");
  }
  for (const s of items) {
    const name = relative.length > 0 ? s.slice(1) : s;
    if (!collectorNames.includes(name)) {
      throw new ConfigError(
        "collectors",
        origin,
        `unknown collector '${name}' (known: ${collectorNames.join(", ")})`,
      );
    }
  }
  if (relative.length === 0) return collectorNames.filter((n) => items.includes(n));
  const set = new Set(defaultCollectorNames());
  for (const s of items) {
    if (s.startsWith("+")) set.add(s.slice(1));
    else set.delete(s.slice(1));
  }
  return collectorNames.filter((n) => set.has(n));
}

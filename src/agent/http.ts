/**
 * The agent's HTTP surface (hono): /metrics (Prometheus text, from the cached snapshot), the JSON API
 * (/api/v1/host, /api/v1/domains, /api/v1/domains/:name) and /healthz. Handlers only read the last snapshot, so
 * a scrape never waits for libvirt and concurrent scrapers see the same data (kubevirt #2826). The control
 * endpoints (POST .../exec, .../agent-command; src/agent/control) need the control token. Errors are JSON
 * ({error: {code, message, hint?}}) from one handler.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Collector } from "../collectors/types.ts";
import type { Emit } from "../metrics/catalog.ts";
import { CONTENT_TYPE } from "../metrics/exposition.ts";
import { KvmonError } from "../shared/errors.ts";
import { errorBody } from "../shared/http-error.ts";
import type { Snapshot } from "../model/types.ts";
import type { AgentStatus } from "./agent.ts";
import { type ConsoleDeps, consoleRoutes } from "./control/console.ts";
import { type AuditDomain, diskAuditRoutes } from "./control/disk-audit.ts";
import { controlStatus } from "./control/errors.ts";
import { type ControlDeps, controlRoutes } from "./control/routes.ts";
import { traceRoutes } from "./control/trace-routes.ts";
import type { Tracer } from "../tracer/index.ts";
import { HttpError } from "./errors.ts";
import { renderAgent, renderSnapshot } from "./exposition.ts";
import { Logger } from "./log.ts";
import type { ConnectionStatus } from "./source.ts";

/** What the HTTP layer reads from the agent. */
export interface AgentView {
  snapshot(): Snapshot | null;
  readonly status: AgentStatus;
  connection(): ConnectionStatus;
  readonly collectors: readonly Collector[];
  readonly intervalMs: number;
}

export interface HttpOptions {
  /** Extra families for /metrics (the agent process's own metrics); omitted in golden tests. */
  extraMetrics?: (emit: Emit) => void;
  clock?: () => number;
  /** The control endpoints' token, audit log and guest channels; absent: they answer CONTROL_DISABLED. */
  control?: ControlDeps;
  /** The KVM exit tracer (null or absent: its endpoints answer 503 TRACER_UNAVAILABLE). */
  tracer?: Tracer | null;
  /** The console WebSocket (absent: no console route). */
  console?: ConsoleDeps;
  /** The disk audit of one domain (null or absent: its endpoint answers 503 AUDIT_UNAVAILABLE). */
  diskAudit?: AuditDomain | null;
}

export function createApp(agent: AgentView, opts: HttpOptions = {}): Hono {
  const clock = opts.clock ?? Date.now;
  const app = new Hono();
  let cached: { snap: Snapshot; text: string } | null = null;

  const requireSnapshot = (): Snapshot => {
    const snap = agent.snapshot();
    if (!snap)
      throw new HttpError(503, "NO_SAMPLE_YET", "no collection has completed yet; retry after one interval");
    return snap;
  };

  app.get("/metrics", (c) => {
    const snap = agent.snapshot();
    if (snap && cached?.snap !== snap) cached = { snap, text: renderSnapshot(snap, agent.collectors) };
    const body =
      (snap ? cached!.text : "") + renderAgent(agent.status, agent.connection(), snap, opts.extraMetrics);
    return c.body(body, 200, { "content-type": CONTENT_TYPE });
  });

  app.get("/api/v1/host", (c) => {
    const snap = requireSnapshot();
    return c.json({ collectedAt: snap.finishedAt, host: snap.host, connection: agent.connection() });
  });

  app.get("/api/v1/domains", (c) => {
    const snap = requireSnapshot();
    return c.json({ collectedAt: snap.finishedAt, domains: snap.domains });
  });

  app.get("/api/v1/domains/:name", (c) => {
    const name = c.req.param("name");
    if (name.length > 256) throw new HttpError(400, "BAD_REQUEST", "domain name longer than 256 characters");
    const snap = requireSnapshot();
    // By name (what operators type) or UUID (what a fleet server stores).
    const d =
      snap.domains.find((x) => x.name === name) ?? snap.domains.find((x) => x.uuid === name.toLowerCase());
    if (!d) throw new HttpError(404, "DOMAIN_NOT_FOUND", `no domain named '${name}' on this host`);
    return c.json({ collectedAt: snap.finishedAt, domain: d });
  });

  app.get("/healthz", (c) => {
    const conn = agent.connection();
    const snap = agent.snapshot();
    const last = agent.status.lastSuccessAt;
    const ageSeconds = last === null ? null : (clock() - last) / 1000;
    // Healthy while collections succeed: at most 3 intervals since the last one.
    const healthy = ageSeconds !== null && ageSeconds <= (3 * agent.intervalMs) / 1000;
    const body = {
      status: healthy ? "ok" : last === null ? "starting" : "stale",
      libvirt: {
        connected: conn.connected,
        state: conn.state,
        sinceSeconds: (clock() - conn.since) / 1000,
        lastError: conn.lastError,
      },
      lastSample: { at: last, ageSeconds, domains: snap?.domains.length ?? 0 },
      lastError: agent.status.lastError,
    };
    return c.json(body, healthy ? 200 : 503);
  });

  const control = opts.control ?? disabledControl();
  app.route("/", controlRoutes(control));
  app.route("/", traceRoutes(opts.tracer ?? null, control));
  if (opts.console) app.route("/", consoleRoutes(opts.console, control));
  app.route("/", diskAuditRoutes(opts.diskAudit ?? null, control));

  app.all("*", (c) => {
    const known = ["/metrics", "/healthz", "/api/v1/host", "/api/v1/domains"];
    const path = c.req.path;
    if (/^\/api\/v1\/domains\/[^/]+\/(exec|agent-command)$/.test(path))
      throw new HttpError(405, "METHOD_NOT_ALLOWED", `${c.req.method} is not supported on ${path}; use POST`);
    if (known.includes(path) || path.startsWith("/api/v1/domains/")) {
      throw new HttpError(405, "METHOD_NOT_ALLOWED", `${c.req.method} is not supported on ${path}; use GET`);
    }
    throw new HttpError(404, "NOT_FOUND", `no route ${path}`);
  });

  app.onError((err, c) => {
    if (err instanceof HttpError) return c.json(errorBody(err), err.status);
    // hono's own (a malformed JSON body): a bad request in our vocabulary.
    if (err instanceof HTTPException && err.status < 500)
      return c.json(errorBody(new KvmonError("BAD_REQUEST", err.message)), 400);
    // Any other typed error keeps its own code (a guest call's: QGA_*, TIMEOUT, LIBVIRT_*); an untyped one is a bug.
    if (!(err instanceof KvmonError)) return c.json(errorBody(new KvmonError("INTERNAL", err.message)), 500);
    return c.json(errorBody(err), controlStatus(err) ?? 500);
  });
  return app;
}

/** Control endpoints without a token: every call answers 403 CONTROL_DISABLED. */
function disabledControl(): ControlDeps {
  return {
    token: null,
    audit: null,
    logger: new Logger(() => undefined),
    channels: null,
    guestExec: false,
    guestPassthrough: false,
    killOnTimeout: false,
    callTimeoutMs: 0,
  };
}

/**
 * The fleet server's HTTP app (hono): one route table (RouteSpec[], src/server/api/route.ts) from the fleet's
 * push routes, the JSON API, control routing and the public health and OpenAPI routes; every route is
 * registered with, in order: the audit note (and for privileged routes the audit record, refusals included),
 * the auth check of its declared access, a body limit, and query/body validation. Route modules of other parts
 * (the remote_write handler, the Prometheus API) are mounted under a prefix with their access declared the same
 * way. Errors are JSON ({error: {code, message, hint?}}) from one handler.
 */
import { getConnInfo } from "@hono/node-server/conninfo";
import { createNodeWebSocket, type NodeWebSocket } from "@hono/node-ws";
import { type Context, type Handler, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";
import { CONTENT_TYPE } from "../metrics/exposition.ts";
import { KvmonError, TimeoutError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { principalName, requireAccess } from "./auth/access.ts";
import type { AuditStore } from "./auth/audit.ts";
import { ConsoleTickets } from "./auth/console-tickets.ts";
import { ForbiddenError, UnauthenticatedError } from "./auth/errors.ts";
import type { TokenStore } from "./auth/tokens.ts";
import type { Access } from "./auth/types.ts";
import { consoleRoutes } from "./api/console.ts";
import { controlRoutes } from "./api/control.ts";
import { BadRequestError, errorBody, HttpError } from "./api/errors.ts";
import { openApiDocument } from "./api/openapi.ts";
import { readRoutes } from "./api/read-routes.ts";
import type { AgentTls } from "./api/agent-client.ts";
import { type ApiEnv, type AuditNote, route, type RouteSpec } from "./api/route.ts";
import { sessionRoutes } from "./api/session-routes.ts";
import { tokenRoutes } from "./api/token-routes.ts";
import type { ServerLimits } from "./config.ts";
import { pushRoutes } from "./fleet/push-routes.ts";
import type { FleetState } from "./fleet/state.ts";
import { ServerMetrics } from "./metrics.ts";
import type { SeriesStore } from "./storage/types.ts";
import { webRoutes } from "./web-routes.ts";

export const SERVER_VERSION = "0.1.0";

/**
 * Another part's routes (writeRoutes, promApiRoutes), mounted at `prefix` ("" for their own paths, e.g.
 * /api/v1/write; "/prometheus" for a Grafana data source URL ending in /prometheus). The access check is
 * registered on exactly the sub-app's routes, so a mount never guards (or opens) anything else.
 */
export interface Mount {
  prefix: string;
  access: Access;
  summary: string;
  routes: Hono;
}

/** A mount's served routes: method and full path. */
export function mountedRoutes(m: Mount): Array<{ method: string; path: string }> {
  const seen = new Map<string, { method: string; path: string }>();
  for (const r of m.routes.routes) {
    if (r.method === "ALL") continue; // the sub-app's own middleware
    const path = `${m.prefix}${r.path === "/" && m.prefix !== "" ? "" : r.path}`;
    seen.set(`${r.method} ${path}`, { method: r.method, path });
  }
  return [...seen.values()];
}

export interface ServerAppDeps {
  tokens: TokenStore;
  audit: AuditStore;
  fleet: FleetState;
  store: SeriesStore;
  limits: ServerLimits;
  pushIntervalMs: number;
  /** TLS with a client CA: host-token routes also need a verified client certificate. */
  requireClientCert?: boolean;
  /** How control calls verify https:// agents (config agentCa). */
  agentTls?: AgentTls;
  mounts?: readonly Mount[];
  now?: () => number;
  /** Where server-side failures (5xx) are logged; absent: not logged. */
  logger?: Logger;
  /** The built dashboard (scripts/build-web.ts) served at `/`; absent: no dashboard routes. */
  webDir?: string;
  /** The counters /metrics shows (fed by the ingest mount's hooks); absent: process metrics only. */
  metrics?: ServerMetrics;
}

function remoteAddress(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null; // app.request in tests
  }
}

/** The first schema issue as `where: message`, where is `query.limit`, `body.args.0`, ... */
function validated<S extends z.ZodType>(schema: S, value: unknown, where: "query" | "body"): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = [where, ...issue.path.map(String)].join(".");
  if (issue.code === "unrecognized_keys")
    throw new BadRequestError(
      `${path}: unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")}`,
    );
  throw new BadRequestError(`${path}: ${issue.message}`);
}

function statusOf(err: Error): { status: number; error: KvmonError } {
  if (err instanceof HttpError) return { status: err.status, error: err };
  if (err instanceof UnauthenticatedError) return { status: 401, error: err };
  if (err instanceof ForbiddenError) return { status: 403, error: err };
  if (err instanceof TimeoutError) return { status: 504, error: err };
  if (err instanceof HTTPException && err.status < 500)
    return { status: 400, error: new BadRequestError(err.message, { cause: err }) };
  if (err instanceof KvmonError) return { status: 500, error: err };
  return { status: 500, error: new KvmonError("INTERNAL", err.message, { cause: err }) };
}

export interface ServerApp {
  app: Hono<ApiEnv>;
  routes: RouteSpec[];
  /** Lets the app take WebSocket upgrades (the console) on the listening server. */
  injectWebSocket: NodeWebSocket["injectWebSocket"];
}

export function createServerApp(deps: ServerAppDeps): ServerApp {
  const now = deps.now ?? Date.now;
  const mounts = deps.mounts ?? [];
  const app = new Hono<ApiEnv>();
  const nodeWs = createNodeWebSocket({ app });
  const control = { fleet: deps.fleet, agentTimeoutMs: deps.limits.agentTimeoutMs, agentTls: deps.agentTls };
  const tickets = new ConsoleTickets(now);
  const metrics = deps.metrics ?? new ServerMetrics();
  const routes: RouteSpec[] = [
    route({
      method: "GET",
      path: "/healthz",
      access: "public",
      summary: "Liveness: the server answers",
      handler: (c) => c.json({ status: "ok" }),
    }),
    route({
      method: "GET",
      path: "/api/v1/openapi.json",
      access: "public",
      summary: "This API's OpenAPI document",
      handler: (c) => c.json(doc),
    }),
    route({
      method: "GET",
      path: "/metrics",
      // Viewer, unlike the agent's: it names every host of the fleet and the forward targets, and a scraper
      // sends a viewer token as easily (docs/server.md "Server metrics").
      access: "viewer",
      summary: "The server's own metrics (Prometheus text format)",
      handler: (c) => c.body(metrics.render(), 200, { "content-type": CONTENT_TYPE }),
    }),
    ...pushRoutes(deps.fleet, now),
    ...readRoutes({ ...deps, now }),
    ...sessionRoutes(),
    ...tokenRoutes(deps),
    ...controlRoutes(control),
    ...consoleRoutes(control, tickets, nodeWs.upgradeWebSocket),
    ...(deps.webDir === undefined ? [] : webRoutes(deps.webDir)),
  ];
  const doc = openApiDocument(
    routes,
    mounts.flatMap((m) => mountedRoutes(m).map((r) => ({ ...r, access: m.access, summary: m.summary }))),
    SERVER_VERSION,
  );

  const clientCert: MiddlewareHandler<ApiEnv> = async (c, next) => {
    const socket = (c.env as { incoming?: { socket?: { authorized?: boolean } } } | undefined)?.incoming
      ?.socket;
    if (socket?.authorized !== true)
      throw new UnauthenticatedError(
        "agents must present a client certificate signed by the server's tlsClientCa",
      );
    await next();
  };
  const guard = (access: Access, ticketed = false): MiddlewareHandler<ApiEnv>[] => [
    ...(deps.requireClientCert && access === "host" ? [clientCert] : []),
    requireAccess(
      deps.tokens,
      access,
      ticketed ? tickets : undefined,
    ) as unknown as MiddlewareHandler<ApiEnv>,
  ];

  const audited =
    (action: string | undefined): MiddlewareHandler<ApiEnv> =>
    async (c, next) => {
      const time = now();
      const started = performance.now();
      const note: AuditNote = {
        host: c.req.param("host") ?? null,
        domain: c.req.param("name") ?? null,
        what: {},
      };
      c.set("audit", note);
      await next();
      if (action === undefined) return;
      // A WebSocket upgrade answers 200 here and 101 on the wire.
      const status = note.status ?? (c.res.status === 200 && c.req.header("upgrade") ? 101 : c.res.status);
      const principal = c.get("principal");
      deps.audit.write({
        time,
        who: principal ? principalName(principal) : "anonymous",
        from: remoteAddress(c),
        action,
        host: note.host,
        domain: note.domain,
        what: note.what,
        outcome: status < 400 ? "ok" : status === 401 || status === 403 ? "denied" : "error",
        status,
        code: c.error instanceof KvmonError ? c.error.code : c.error ? "INTERNAL" : (note.code ?? null),
        durationMs: performance.now() - started,
      });
    };
  const limited = bodyLimit({
    maxSize: deps.limits.maxBodyBytes,
    onError: () => {
      throw new HttpError(
        413,
        "BODY_TOO_LARGE",
        `request body larger than ${deps.limits.maxBodyBytes} bytes`,
      );
    },
  });

  for (const spec of routes) {
    const handlers: MiddlewareHandler<ApiEnv>[] = [audited(spec.audit), ...guard(spec.access, spec.ticket)];
    if (spec.body) handlers.push(limited);
    const serve: Handler<ApiEnv> = async (c) => {
      const query = spec.query
        ? validated(
            spec.query,
            Object.fromEntries(
              Object.entries(c.req.queries()).map(([k, v]): [string, unknown] => [
                k,
                v.length === 1 ? v[0] : v,
              ]),
            ),
            "query",
          )
        : undefined;
      if (!spec.query && new URL(c.req.url).search.length > 1)
        throw new BadRequestError("query: this endpoint takes no query parameters");
      let body: unknown;
      if (spec.body) {
        if (!/^application\/json\b/i.test(c.req.header("content-type") ?? ""))
          throw new BadRequestError("body: expects JSON (content-type: application/json)");
        let raw: unknown;
        try {
          raw = await c.req.json();
        } catch (e) {
          if (e instanceof HttpError) throw e;
          throw new BadRequestError(`body: not valid JSON: ${(e as Error).message}`, { cause: e });
        }
        body = validated(spec.body, raw, "body");
      }
      return spec.handler(c, { query, body });
    };
    app.on(spec.method, spec.path, ...(handlers as [MiddlewareHandler<ApiEnv>]), serve);
  }
  for (const m of mounts) {
    for (const r of mountedRoutes(m))
      app.on(r.method, r.path, audited(undefined), ...guard(m.access), limited);
    app.route(m.prefix === "" ? "/" : m.prefix, m.routes as unknown as Hono<ApiEnv>);
  }

  app.notFound((c) =>
    c.json(errorBody(new HttpError(404, "NOT_FOUND", `no route ${c.req.method} ${c.req.path}`)), 404),
  );
  app.onError((err, c) => {
    const { status, error } = statusOf(err);
    if (status >= 500)
      deps.logger?.error("request failed", {
        method: c.req.method,
        path: c.req.path,
        code: error.code,
        error: err.message,
        ...(error.code === "INTERNAL" ? { stack: err.stack } : {}),
      });
    if (status === 401) c.header("www-authenticate", 'Bearer realm="kvmon"');
    return c.json(errorBody(error), status as 400);
  });
  return { app, routes, injectWebSocket: nodeWs.injectWebSocket };
}

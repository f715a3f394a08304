/**
 * The agent's HTTP surface (hono): /metrics (Prometheus text, from the cached snapshot), the JSON API
 * (/api/v1/host, /api/v1/domains, /api/v1/domains/:name) and /healthz. Handlers only read the last snapshot, so
 * a scrape never waits for libvirt and concurrent scrapers see the same data (kubevirt #2826). Errors are JSON
 * ({error: {code, message}}) from one handler.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Collector } from "../collectors/types.ts";
import type { Emit } from "../metrics/catalog.ts";
import { CONTENT_TYPE } from "../metrics/exposition.ts";
import type { Snapshot } from "../model/types.ts";
import type { AgentStatus } from "./agent.ts";
import { renderAgent, renderSnapshot } from "./exposition.ts";
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
}

function jsonError(status: 400 | 404 | 405 | 500 | 503, code: string, message: string) {
  return new HTTPException(status, {
    res: new Response(JSON.stringify({ error: { code, message } }), {
      status,
      headers: { "content-type": "application/json" },
    }),
  });
}

export function createApp(agent: AgentView, opts: HttpOptions = {}): Hono {
  const clock = opts.clock ?? Date.now;
  const app = new Hono();
  let cached: { snap: Snapshot; text: string } | null = null;

  const requireSnapshot = (): Snapshot => {
    const snap = agent.snapshot();
    if (!snap)
      throw jsonError(503, "no_sample_yet", "no collection has completed yet; retry after one interval");
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
    if (name.length > 256) throw jsonError(400, "bad_request", "domain name longer than 256 characters");
    const snap = requireSnapshot();
    // By name (what operators type) or UUID (what a fleet server stores).
    const d =
      snap.domains.find((x) => x.name === name) ?? snap.domains.find((x) => x.uuid === name.toLowerCase());
    if (!d) throw jsonError(404, "domain_not_found", `no domain named '${name}' on this host`);
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

  app.all("*", (c) => {
    const known = ["/metrics", "/healthz", "/api/v1/host", "/api/v1/domains"];
    const path = c.req.path;
    if (known.includes(path) || path.startsWith("/api/v1/domains/")) {
      throw jsonError(405, "method_not_allowed", `${c.req.method} is not supported on ${path}; use GET`);
    }
    throw jsonError(404, "not_found", `no route ${path}`);
  });

  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    return c.json({ error: { code: "internal", message: err.message } }, 500);
  });
  return app;
}

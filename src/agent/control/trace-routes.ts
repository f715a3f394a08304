/**
 * The tracer's API (issue 12; the original design's `switch(on|off)` and `getLog()`, and more):
 * - POST /api/v1/trace {domains | all, events?, durationSeconds?}: on (joins a running domain's run);
 * - DELETE /api/v1/trace[/{domain}]: off;
 * - GET /api/v1/trace: status (events enabled, the silent ones, domains, health);
 * - GET /api/v1/trace/{domain}/counts and /events?limit=&since=: results, while on and after.
 * Switching is a control call (token, audit, like exec); reading is open like the other read endpoints: it shows
 * counts and exit details, not guest memory, and a monitoring system must read it without the token.
 */
import { Hono } from "hono";
import { z } from "zod";
import { traceEventNames } from "../../model/control.ts";
import type { RecentEvents } from "../../model/trace.ts";
import { TracefsEventMissingError, TracefsUnavailableError } from "../../protocol/tracefs/index.ts";
import { KvmonError } from "../../shared/errors.ts";
import { type Tracer, TracerDomainError, TracerRequestError } from "../../tracer/index.ts";
import { HttpError, type HttpErrorStatus } from "../errors.ts";
import { type ControlDeps, controlGuards, type Env } from "./routes.ts";

/** Events one /events call returns at most (the ring holds ringSize per domain). */
const MAX_LIMIT = 65536;

export const traceOnBody = z
  .object({
    domains: z.array(z.string().min(1).max(256)).min(1).max(1024).optional(),
    all: z.literal(true).optional(),
    events: traceEventNames.optional(),
    durationSeconds: z.number().positive().optional(),
  })
  .strict()
  .refine((b) => (b.domains === undefined) !== (b.all === undefined), {
    message: "give either domains or all: true",
  });

const eventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(100),
  since: z.coerce.number().optional(),
});

/** The tracer's errors with their HTTP status; the code stays the error's own. */
function traceHttpError(e: unknown): unknown {
  if (!(e instanceof KvmonError) || e instanceof HttpError) return e;
  const status: HttpErrorStatus | undefined =
    e instanceof TracerDomainError
      ? 404
      : e instanceof TracerRequestError || e instanceof TracefsEventMissingError
        ? 400
        : e instanceof TracefsUnavailableError
          ? 503
          : undefined;
  return status === undefined ? e : new HttpError(status, e.code, e.message, { hint: e.hint, cause: e });
}

async function translated<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw traceHttpError(e);
  }
}

export function traceRoutes(
  tracer: Tracer | null,
  deps: Pick<ControlDeps, "token" | "audit" | "logger">,
): Hono<Env> {
  const app = new Hono<Env>();
  const { audited, authorized, limited, body } = controlGuards(deps);
  const need = (): Tracer => {
    if (tracer) return tracer;
    throw new HttpError(
      503,
      "TRACER_UNAVAILABLE",
      "the tracer runs only on the libvirt host (a local libvirt URI)",
    );
  };
  const traced = (name: string): string => {
    if (name.length > 256) throw new HttpError(400, "BAD_REQUEST", "domain name longer than 256 characters");
    return name;
  };

  app.post("/api/v1/trace", audited("trace-on"), authorized, limited, body(traceOnBody), async (c) => {
    const req = c.req.valid("json");
    const note = c.get("audit");
    note.guest = req.all ? "all" : req.domains!.join(",");
    note.what = { events: req.events ?? "default", durationSeconds: req.durationSeconds ?? "default" };
    const status = await translated(() =>
      need().on({
        domains: req.all ? "all" : req.domains!,
        events: req.events,
        durationSeconds: req.durationSeconds,
      }),
    );
    return c.json(status);
  });

  for (const path of ["/api/v1/trace", "/api/v1/trace/:name"]) {
    app.delete(path, audited("trace-off"), authorized, async (c) => {
      const name = c.req.param("name");
      c.get("audit").guest = name ?? "all";
      return c.json(await translated(() => need().off(name === undefined ? undefined : traced(name))));
    });
  }

  app.get("/api/v1/trace", (c) => c.json(need().status()));

  app.get("/api/v1/trace/:name/counts", (c) => {
    const name = traced(c.req.param("name"));
    const counts = need().counts(name);
    if (!counts)
      throw new HttpError(404, "NOT_TRACED", `domain '${name}' has not been traced since the agent started`);
    return c.json(counts);
  });

  app.get("/api/v1/trace/:name/events", (c) => {
    const name = traced(c.req.param("name"));
    const q = eventsQuery.safeParse(c.req.query());
    if (!q.success) {
      const issue = q.error.issues[0]!;
      throw new HttpError(400, "BAD_REQUEST", `${issue.path.join(".")}: ${issue.message}`);
    }
    const events = need().recent(name, q.data.limit, q.data.since);
    if (!events)
      throw new HttpError(404, "NOT_TRACED", `domain '${name}' has not been traced since the agent started`);
    const answer: RecentEvents = { domain: name, events };
    return c.json(answer);
  });
  return app;
}

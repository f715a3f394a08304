/**
 * A route of the server's API as data: method, path, who may call it (auth/types.ts `Access`), the audit
 * action when it is privileged, its query and body schemas (zod) and its handler. One table of these drives
 * the auth check, the audit log, request validation (a 400 naming the bad field; unknown fields refused) and
 * the OpenAPI document, so none of them can forget a route (src/server/app.ts registers them).
 */
import type { Context } from "hono";
import type { z } from "zod";
import type { Access, AuthEnv } from "../auth/types.ts";

/** What a handler tells the audit wrapper beyond what the route already says. */
export interface AuditNote {
  host: string | null;
  domain: string | null;
  what: Record<string, unknown>;
  /** The error code of an answer that is not the server's own error (an agent's, relayed). */
  code?: string;
  /** The status of a refusal sent as a WebSocket close after the upgrade (a ticketed console, api/console.ts). */
  status?: number;
}

export type ApiEnv = { Variables: AuthEnv["Variables"] & { audit: AuditNote } };
export type ApiContext = Context<ApiEnv>;

export interface Input<Q, B> {
  query: Q;
  body: B;
}

export interface RouteSpec {
  method: "GET" | "POST" | "DELETE";
  /** Hono path, `:param` for parameters. */
  path: string;
  access: Access;
  /** The audit log's action; absent for reads. */
  audit?: string;
  summary: string;
  /** A strict zod object of the query parameters (absent: none taken). */
  query?: z.ZodType;
  /** The JSON body's schema (absent: no body). */
  body?: z.ZodType;
  /** The schema of the 200 answer's JSON, for the OpenAPI document (absent: not described). */
  response?: z.ZodType;
  /** A WebSocket upgrade rather than a plain request. */
  websocket?: boolean;
  /** Also takes a console ticket (`?ticket=`, auth/console-tickets.ts) instead of the Authorization header. */
  ticket?: boolean;
  handler: (c: ApiContext, input: Input<unknown, unknown>) => Response | Promise<Response>;
}

/** Declares a route with its handler typed by its schemas. */
export function route<Q extends z.ZodType = z.ZodUndefined, B extends z.ZodType = z.ZodUndefined>(
  spec: Omit<RouteSpec, "handler" | "query" | "body"> & {
    query?: Q;
    body?: B;
    handler: (c: ApiContext, input: Input<z.infer<Q>, z.infer<B>>) => Response | Promise<Response>;
  },
): RouteSpec {
  return spec as RouteSpec;
}

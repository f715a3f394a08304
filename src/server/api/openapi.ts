/**
 * The OpenAPI 3.1 document of the server's API, assembled from the route table: each route's path, method,
 * access (bearer token and role), query and body schemas (zod 4's JSON Schema export) and answers. Routes
 * mounted from other modules (remote_write, the Prometheus API) are listed with their access and summary.
 */
import { z } from "zod";
import type { Access } from "../auth/types.ts";
import type { RouteSpec } from "./route.ts";

export interface MountedDoc {
  method: string;
  path: string;
  access: Access;
  summary: string;
}

const json = (schema: z.ZodType, io: "input" | "output" = "input") =>
  z.toJSONSchema(schema, { unrepresentable: "any", io });
const errorRef = { $ref: "#/components/schemas/Error" };
const errorAnswer = (description: string) => ({
  description,
  content: { "application/json": { schema: errorRef } },
});

function operation(r: { access: Access; summary: string }) {
  return {
    summary: r.summary,
    "x-kvmon-access": r.access,
    ...(r.access === "public" ? { security: [] } : { security: [{ bearer: [] }] }),
  };
}

export function openApiDocument(
  routes: readonly RouteSpec[],
  mounted: readonly MountedDoc[],
  version: string,
) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:(\w+)/g, "{$1}");
    const parameters: unknown[] = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string", maxLength: 256 },
    }));
    if (r.query) {
      const q = json(r.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {}))
        parameters.push({ name, in: "query", required: q.required?.includes(name) ?? false, schema });
    }
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      ...operation(r),
      ...(r.audit ? { "x-kvmon-audit": r.audit } : {}),
      parameters,
      ...(r.body
        ? { requestBody: { required: true, content: { "application/json": { schema: json(r.body) } } } }
        : {}),
      responses: {
        ...(r.websocket
          ? { "101": { description: "WebSocket upgrade" } }
          : {
              "200": {
                description: "OK",
                content: { "application/json": { schema: r.response ? json(r.response, "output") : {} } },
              },
            }),
        "400": errorAnswer("a bad request; the message names the field"),
        ...(r.access === "public" ? {} : { "401": errorAnswer("no token, or an unknown or revoked one") }),
        ...(r.access === "public"
          ? {}
          : { "403": errorAnswer("the token's role or kind does not allow this") }),
      },
    };
  }
  for (const m of mounted) {
    paths[m.path.replace(/:(\w+)/g, "{$1}")] ??= {};
    paths[m.path.replace(/:(\w+)/g, "{$1}")]![m.method.toLowerCase()] = operation(m);
  }
  return {
    openapi: "3.1.0",
    info: { title: "kvmon server", version, description: "The fleet server's API (docs/server.md)." },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: { code: { type: "string" }, message: { type: "string" }, hint: { type: "string" } },
            },
          },
        },
      },
    },
    paths,
  };
}

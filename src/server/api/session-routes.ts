/**
 * GET /api/v1/session: who the caller's token says they are (name and role), so a dashboard shows what the
 * role allows (the server still refuses what it does not). Viewer access: a host token is refused.
 */
import { ForbiddenError } from "../auth/errors.ts";
import { route, type RouteSpec } from "./route.ts";

export interface SessionView {
  name: string;
  role: "viewer" | "operator" | "admin";
}

export function sessionRoutes(): RouteSpec[] {
  return [
    route({
      method: "GET",
      path: "/api/v1/session",
      access: "viewer",
      summary: "The caller's user name and role",
      handler: (c) => {
        const p = c.get("principal");
        if (p.kind !== "user") throw new ForbiddenError("a host token has no session");
        const view: SessionView = { name: p.name, role: p.role };
        return c.json(view);
      },
    }),
  ];
}

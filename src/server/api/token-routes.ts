/**
 * Token admin over the API (admin role, audited): list the tokens (never a secret or a hash), make one (a user
 * token with a role, or a host's agent token; the secret is in this answer only) and revoke one. The rules are
 * the CLI's (src/server/token-admin.ts); one more here: the last live admin token cannot be revoked through the
 * API, since the caller would lock every admin out and the server would not start again without one (the CLI,
 * which needs the data dir, can).
 */
import { z } from "zod";
import { NAME_PATTERN, type TokenInfo, type TokenStore } from "../auth/tokens.ts";
import { ROLES } from "../auth/types.ts";
import type { FleetState } from "../fleet/state.ts";
import { makeHostToken, makeUserToken, revokeToken, type TokenAudit } from "../token-admin.ts";
import { type ApiContext, route, type RouteSpec } from "./route.ts";

const tokenName = z.string().regex(NAME_PATTERN, "1-128 letters, digits, '_', '.', '@' or '-'");

/** `{name, role}` for a user token, `{host}` for a host's agent token. */
export const tokenCreateBody = z
  .object({
    name: tokenName.optional().describe("a user's (or engine's) name"),
    role: z.enum(ROLES).optional(),
    host: tokenName.optional().describe("a host's name: its agent's push token"),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.host !== undefined) {
      for (const k of ["name", "role"] as const)
        if (b[k] !== undefined)
          ctx.addIssue({ code: "custom", path: [k], message: "a host token takes no name or role" });
      return;
    }
    if (b.name === undefined)
      ctx.addIssue({ code: "custom", path: ["name"], message: "required (or host, for an agent's token)" });
    if (b.role === undefined)
      ctx.addIssue({ code: "custom", path: ["role"], message: `required: one of ${ROLES.join(", ")}` });
  });

/** POST /api/v1/tokens: the secret (shown once) and the token's record. */
export interface CreatedToken {
  token: string;
  info: TokenInfo;
}

function noted(c: ApiContext, audit: TokenAudit): void {
  const note = c.get("audit");
  note.host = audit.host;
  note.what = audit.what;
}

export function tokenRoutes(deps: { tokens: TokenStore; fleet: FleetState }): RouteSpec[] {
  return [
    route({
      method: "GET",
      path: "/api/v1/tokens",
      access: "admin",
      summary: "Every token, live and revoked: id, kind, name (or host), role, created, last used",
      handler: (c) => c.json({ tokens: deps.tokens.list() }),
    }),
    route({
      method: "POST",
      path: "/api/v1/tokens",
      access: "admin",
      audit: "token-create",
      summary: "Makes a user token ({name, role}) or a host's agent token ({host}); the secret is shown once",
      body: tokenCreateBody,
      handler: (c, { body }) => {
        noted(c, { host: body.host ?? null, what: { ...body } }); // what was asked, if it fails
        const made =
          body.host === undefined
            ? makeUserToken(deps.tokens, body.name!, body.role!)
            : makeHostToken(deps.tokens, deps.fleet, body.host, "keep");
        noted(c, made.audit);
        const answer: CreatedToken = { token: made.token, info: made.info };
        return c.json(answer, 201);
      },
    }),
    route({
      method: "DELETE",
      path: "/api/v1/tokens/:token",
      access: "admin",
      audit: "token-revoke",
      summary: "Revokes a live token by id or name (not the last admin token)",
      handler: (c) => {
        const asked = c.req.param("token") ?? "";
        noted(c, { host: null, what: { token: asked } });
        const { info, audit } = revokeToken(deps.tokens, asked, { keepLastAdmin: true });
        noted(c, audit);
        return c.json(info);
      },
    }),
  ];
}

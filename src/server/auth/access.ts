/**
 * The auth middleware: `Authorization: Bearer <token>` -> a principal (types.ts), checked against what the
 * route needs. Routes declare their need as data in the app's route table (src/server/app.ts); this turns
 * one need into a middleware. No token or an unknown one is 401; a valid token of the wrong kind or too weak a
 * role is 403. A route that takes console tickets (the console WebSocket: browsers cannot set its headers)
 * accepts `?ticket=` instead of the header; the ticket stands for the principal it was issued to.
 */
import type { MiddlewareHandler } from "hono";
import type { ConsoleTickets } from "./console-tickets.ts";
import { ForbiddenError, UnauthenticatedError } from "./errors.ts";
import type { TokenStore } from "./tokens.ts";
import { type Access, type AuthEnv, type Principal, roleAllows } from "./types.ts";

const BEARER = /^Bearer +(\S+) *$/i;

export function principalName(p: Principal): string {
  return p.kind === "host" ? `host:${p.host}` : p.name;
}

/** The principal's right to `need`, or the reason it has none. */
function refusal(p: Principal, need: Exclude<Access, "public">): string | null {
  if (need === "host") return p.kind === "host" ? null : "this endpoint takes an agent's host token";
  if (p.kind === "host") return `a host token cannot call this endpoint (needs the ${need} role)`;
  return roleAllows(p.role, need) ? null : `needs the ${need} role; '${p.name}' is ${p.role}`;
}

export function requireAccess(
  tokens: TokenStore,
  need: Access,
  tickets?: ConsoleTickets,
): MiddlewareHandler<AuthEnv> {
  const bearer = (header: string | undefined): Principal => {
    const m = BEARER.exec(header ?? "");
    if (!m) throw new UnauthenticatedError("this endpoint needs 'Authorization: Bearer <token>'");
    const principal = tokens.verify(m[1]!);
    if (!principal) throw new UnauthenticatedError("the bearer token is unknown or revoked");
    return principal;
  };
  return async (c, next) => {
    if (need !== "public") {
      const ticket = tickets && c.req.query("ticket");
      const principal =
        tickets && ticket !== undefined
          ? tickets.redeem(ticket, c.req.param("host") ?? "", c.req.param("name") ?? "")
          : bearer(c.req.header("authorization"));
      c.set("principal", principal);
      const why = refusal(principal, need);
      if (why) throw new ForbiddenError(why);
    }
    await next();
  };
}

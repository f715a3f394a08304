/**
 * Who is calling: an agent (a per-host token, allowed only to push its own host's data) or a person or engine
 * (an API token with a role). The auth middleware (access.ts) sets it as `c.get("principal")`.
 */
export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export type Principal = { kind: "host"; host: string } | { kind: "user"; name: string; role: Role };

/** What a route needs: nothing (`public`), an agent's host token (`host`), or a user token of at least a role. */
export type Access = "public" | "host" | Role;

export type AuthEnv = { Variables: { principal: Principal } };

/** Whether a user of `role` may do what needs `need` (viewer < operator < admin). */
export function roleAllows(role: Role, need: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(need);
}

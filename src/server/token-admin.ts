/**
 * The token admin actions the CLI (`kvmon server token create|revoke`, `host add`) and the API
 * (/api/v1/tokens, src/server/api/token-routes.ts) share, so both follow the same rules (the token store's
 * names, roles and one live token per name) and write the same details to the audit log. A host token also
 * registers the host with the fleet, so its agent's first push is expected.
 */
import type { TokenInfo, TokenStore } from "./auth/tokens.ts";
import type { Role } from "./auth/types.ts";
import type { AgentEndpoint, FleetState } from "./fleet/state.ts";

/** What a made or revoked token adds to its audit record (never the secret). */
export interface TokenAudit {
  host: string | null;
  what: Record<string, unknown>;
}

export interface MadeToken {
  /** The secret, shown once. */
  token: string;
  info: TokenInfo;
  audit: TokenAudit;
}

/** A user's (or engine's) API token with a role. */
export function makeUserToken(tokens: TokenStore, name: string, role: Role): MadeToken {
  const { token, info } = tokens.create("user", name, role);
  return { token, info, audit: { host: null, what: { id: info.id, name, role } } };
}

/**
 * A host's agent token, and the host registered with the fleet. `agent` is where its control API is (null:
 * none); `"keep"` keeps what an earlier registration said (a new token for a known host).
 */
export function makeHostToken(
  tokens: TokenStore,
  fleet: FleetState,
  host: string,
  agent: AgentEndpoint | null | "keep",
): MadeToken {
  const { token, info } = tokens.create("host", host, null);
  const known = fleet.host(host);
  if (agent !== "keep" || !known) fleet.register(host, agent === "keep" ? null : agent);
  const agentUrl = agent === "keep" ? (known?.agent?.url ?? null) : (agent?.url ?? null);
  return { token, info, audit: { host, what: { id: info.id, agentUrl } } };
}

/** Revokes by id or name; `keepLastAdmin` refuses the last live admin token (the API's rule). */
export function revokeToken(
  tokens: TokenStore,
  idOrName: string,
  opts: { keepLastAdmin?: boolean } = {},
): { info: TokenInfo; audit: TokenAudit } {
  const info = tokens.revoke(idOrName, opts);
  return {
    info,
    audit: { host: info.kind === "host" ? info.name : null, what: { id: info.id, name: info.name } },
  };
}

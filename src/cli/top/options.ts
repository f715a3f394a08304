/** Flags shared by the commands that read the fleet view (`top`, `shell`): where from, how often. */
import { DOMAIN_STATE_NAMES } from "../../model/state.ts";
import { UsageError } from "../errors.ts";
import { vmView } from "./columns.ts";
import { SORT_KEYS, STATE_GROUPS } from "./table.ts";

/** `top` reads the fleet too: the server and its API token. */
export const fleetFlags = {
  server: { type: "string" },
  "token-file": { type: "string" },
} as const;

export const FLEET_FLAGS_HELP = `  --server <url>          every host's VMs through the kvmon server (env KVMON_SERVER_URL), with a HOST
                          column; needs an API token (viewer role is enough)
  --token-file <f>        the API token for --server (env KVMON_TOKEN_FILE, or the token in KVMON_TOKEN)`;

export const viewFlags = {
  agent: { type: "string" },
  uri: { type: "string" },
  local: { type: "boolean" },
} as const;

export const VIEW_FLAGS_HELP = `  --agent <url>           read this agent's JSON API (env KVMON_AGENT_URL); default: the local agent at
                          http://127.0.0.1:9477 when it answers, else collect in-process from libvirt
  --local                 collect in-process from libvirt even when an agent runs (host view only)
  --uri <uri>             libvirt URI of the in-process collection (env KVMON_URI; default qemu:///system)`;

/** Seconds between refreshes: a number of at least 0.5. */
export function delayFlag(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.5 || n > 3600)
    throw new UsageError(`-d must be seconds from 0.5 to 3600, got '${value}'`);
  return n;
}

/** A sort key: P, M, T, N or a column key of the VM view. */
export function sortFlag(value: string | undefined): string {
  if (value === undefined) return "cpu";
  const keys = [...vmView.columns.map((c) => c.key), "host"];
  if (SORT_KEYS[value] || keys.includes(value)) return SORT_KEYS[value] ?? value;
  throw new UsageError(`-o must be one of ${keys.join(", ")} (or P, M, T, N), got '${value}'`);
}

export function stateFlag(value: string | undefined): string | null {
  if (value === undefined) return null;
  const states: readonly string[] = [...STATE_GROUPS, ...DOMAIN_STATE_NAMES];
  if (states.includes(value)) return value;
  throw new UsageError(`--state must be one of ${states.join(", ")}, got '${value}'`);
}

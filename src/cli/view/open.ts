/**
 * Picks the view's source: the fleet server named by --server / KVMON_SERVER_URL (for `top`; with an API
 * token), else the agent named by --agent / KVMON_AGENT_URL (an error when it does not answer), else the local
 * agent when one answers on its default address, else (or with --local) an in-process collection from libvirt.
 * Neither reachable: one error that says how to start either.
 */
import { TimeoutError } from "../../shared/errors.ts";
import { AgentClient, AgentUnreachableError, DEFAULT_AGENT_URL } from "../agent-client.ts";
import { CliError, UsageError } from "../errors.ts";
import { type ServerFlags, serverWithToken } from "../server-client.ts";
import { AgentViewSource } from "./agent-source.ts";
import { LocalViewSource } from "./local-source.ts";
import { ServerViewSource } from "./server-source.ts";
import type { ViewSource } from "./types.ts";

export const DEFAULT_URI = "qemu:///system";

export interface ViewTarget {
  /** The fleet server and where its token comes from (flags, env); null: one host's view. */
  server: { url: string; flags: ServerFlags; env: NodeJS.ProcessEnv } | null;
  /** An agent named explicitly (flag or env): used or failed on, never silently replaced. */
  agentUrl: string | null;
  /** Collect in-process even when an agent answers (--local). */
  local: boolean;
  /** libvirt URI for the in-process collection. */
  uri: string;
  /** Refresh interval: the in-process source's first two calls are this far apart. */
  intervalMs: number;
  /** Probe of the default agent address. */
  probeTimeoutMs?: number;
}

/**
 * --agent, else KVMON_AGENT_URL; --uri, else KVMON_URI, else qemu:///system. With `fleet` (top): --server,
 * else KVMON_SERVER_URL unless --agent or --local names one host.
 */
export function viewTarget(
  flags: { agent?: string; uri?: string; local?: boolean } & ServerFlags,
  env: NodeJS.ProcessEnv,
  intervalMs: number,
  opts: { fleet?: boolean } = {},
): ViewTarget {
  const serverUrl =
    flags.server ?? (flags.agent !== undefined || flags.local ? undefined : env.KVMON_SERVER_URL);
  return {
    server: opts.fleet && serverUrl !== undefined ? { url: serverUrl, flags, env } : null,
    agentUrl: flags.agent ?? (flags.local ? undefined : env.KVMON_AGENT_URL) ?? null,
    local: flags.local === true,
    uri: flags.uri ?? env.KVMON_URI ?? DEFAULT_URI,
    intervalMs,
  };
}

export async function openViewSource(t: ViewTarget): Promise<ViewSource> {
  if (t.local && t.agentUrl !== null) throw new UsageError("--local and --agent exclude each other");
  if (t.server && (t.local || t.agentUrl !== null))
    throw new UsageError("--server reads the fleet: it excludes --agent and --local");
  if (t.server) {
    const server = serverWithToken(t.server.url, t.server.flags, t.server.env, "viewer");
    // A server that does not answer, or refuses the token, fails here rather than on the first frame.
    await server.request("GET", "/api/v1/session");
    return new ServerViewSource(server);
  }
  if (t.local) return LocalViewSource.open({ uri: t.uri, intervalMs: t.intervalMs });
  if (t.agentUrl !== null) {
    const source = new AgentViewSource(t.agentUrl);
    await new AgentClient({ agent: source.origin }, {}, 5000)
      .request("GET", "/healthz")
      .catch((e: unknown) => {
        // /healthz answers 503 while the agent starts or is stale: it is there, its data says the rest.
        if (e instanceof AgentUnreachableError || e instanceof TimeoutError) throw e;
      });
    return source;
  }
  // Any HTTP answer counts (a starting agent answers 503); no answer in time means none runs here.
  if (await new AgentClient({ agent: DEFAULT_AGENT_URL }, {}).reachable(t.probeTimeoutMs ?? 1000))
    return new AgentViewSource(DEFAULT_AGENT_URL);
  try {
    return await LocalViewSource.open({ uri: t.uri, intervalMs: t.intervalMs });
  } catch (e) {
    throw new CliError(
      `no kvmon agent answers at ${DEFAULT_AGENT_URL} and libvirt at ${t.uri} cannot be reached: ${(e as Error).message}`,
      {
        code: "NO_VIEW_SOURCE",
        hint:
          "start an agent ('kvmon agent', or --agent URL for one elsewhere), or start libvirtd " +
          "('systemctl start libvirtd') and run as a user who may open its read-only socket",
        cause: e,
      },
    );
  }
}

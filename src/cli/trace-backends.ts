/**
 * Where `kvmon trace` runs the tracer: in a host's agent through the fleet server (its trace routes; server
 * and agent audit), in the local agent (its API; the agent audits the switch) or in this process (src/tracer
 * on this host's tracefs, as root; the CLI audits). One interface, so the live view and the always-off logic
 * do not care which.
 */
import {
  DEFAULT_PROC_PATHS,
  type DomainCounts,
  type RecentEvent,
  runningDomains,
  Tracer,
  TracerDomainError,
  type TracerStatus,
} from "../tracer/index.ts";
import { type AccessFlags, CliAudit } from "./access.ts";
import type { AgentClient } from "./agent-client.ts";
import { CliError, UsageError } from "./errors.ts";
import { unknownVmMessage } from "./near-matches.ts";
import { type FleetVm, ServerClient } from "./server-client.ts";

export interface TraceOn {
  domains: string[] | "all";
  events?: string[];
  durationSeconds: number;
}

export interface TraceBackend {
  /** For the header: "agent at http://...", "in-process". */
  readonly via: string;
  on(req: TraceOn): Promise<TracerStatus>;
  status(): Promise<TracerStatus>;
  /** null when the domain was never traced. */
  counts(domain: string): Promise<DomainCounts | null>;
  recent(domain: string, limit: number): Promise<RecentEvent[]>;
  /** Switches our run off (the named domains, or everything for "all"). */
  off(domains: string[] | "all"): Promise<void>;
  close(): Promise<void>;
}

/** Deadline of each call to the agent while tracing: short, so a lost agent is noticed within a refresh or two. */
const AGENT_CALL_MS = 5000;

/** What an unknown domain's error says, with the running domains near it. */
function withSuggestion(e: unknown, running: readonly string[]): unknown {
  if (!(e instanceof TracerDomainError) && !(e instanceof CliError && e.code === "TRACER_DOMAIN")) return e;
  const name = e instanceof TracerDomainError ? e.domain : /domain '([^']+)'/.exec(e.message)?.[1];
  if (name === undefined || running.includes(name)) return e;
  return new CliError(unknownVmMessage(name, running), {
    code: (e as CliError).code,
    hint: "kvmon trace needs a running domain (KVM, not TCG: only KVM vCPUs exit to the tracer)",
    cause: e,
  });
}

export function agentBackend(agent: AgentClient): TraceBackend {
  const path = (domain: string) => `/api/v1/trace/${encodeURIComponent(domain)}`;
  return {
    via: `agent at ${agent.url}`,
    async on(req) {
      try {
        return await agent.request<TracerStatus>(
          "POST",
          "/api/v1/trace",
          {
            ...(req.domains === "all" ? { all: true } : { domains: req.domains }),
            ...(req.events ? { events: req.events } : {}),
            durationSeconds: req.durationSeconds,
          },
          AGENT_CALL_MS,
        );
      } catch (e) {
        const listed = await agent
          .request<{ domains: { name: string; state?: string }[] }>("GET", "/api/v1/domains")
          .catch(() => null);
        throw withSuggestion(
          e,
          (listed?.domains ?? []).map((d) => d.name),
        );
      }
    },
    status: () => agent.request<TracerStatus>("GET", "/api/v1/trace", undefined, AGENT_CALL_MS),
    async counts(domain) {
      try {
        return await agent.request<DomainCounts>("GET", `${path(domain)}/counts`, undefined, AGENT_CALL_MS);
      } catch (e) {
        if (e instanceof CliError && e.code === "NOT_TRACED") return null;
        throw e;
      }
    },
    async recent(domain, limit) {
      const r = await agent.request<{ events: RecentEvent[] }>(
        "GET",
        `${path(domain)}/events?limit=${limit}`,
        undefined,
        AGENT_CALL_MS,
      );
      return r.events;
    },
    async off(domains) {
      if (domains === "all") await agent.request("DELETE", "/api/v1/trace", undefined, AGENT_CALL_MS);
      else for (const d of domains) await agent.request("DELETE", path(d), undefined, AGENT_CALL_MS);
    },
    close: async () => undefined,
  };
}

/**
 * The tracer of one host's agent through the fleet server. The VMs (host/vm or unique names) are resolved
 * first and must be on one host: a run has one tracer status. Returns the backend and the plain VM names the
 * live view keys its rows by.
 */
export async function serverBackend(
  server: ServerClient,
  given: string[] | "all",
): Promise<{ backend: TraceBackend; domains: string[] }> {
  if (given === "all")
    throw new UsageError(
      "trace: --server needs the VMs named (host/vm): --all is one host's, not the fleet's",
    );
  const vms: FleetVm[] = [];
  for (const name of given) vms.push(await server.resolve(name));
  const hosts = [...new Set(vms.map((v) => v.host))];
  if (hosts.length > 1)
    throw new UsageError(
      `trace: the VMs are on ${hosts.length} hosts (${hosts.join(", ")}): one host per run`,
    );
  const host = hosts[0]!;
  const byName = new Map(vms.map((v) => [v.name, v]));
  const path = (domain: string) =>
    `${ServerClient.domainPath(byName.get(domain) ?? { host, name: domain })}/trace`;
  // Two hops (server, then agent): the server's own deadline, not the short one of a local agent call.
  const call = <T>(method: string, p: string, body?: unknown) => server.request<T>(method, p, body);
  const backend: TraceBackend = {
    via: `host ${host}'s agent through the server at ${server.url}`,
    async on(req) {
      let status: TracerStatus | undefined;
      for (const vm of vms)
        status = await call<TracerStatus>("POST", path(vm.name), {
          ...(req.events ? { events: req.events } : {}),
          durationSeconds: req.durationSeconds,
        });
      return status!;
    },
    status: () => call<TracerStatus>("GET", `/api/v1/hosts/${encodeURIComponent(host)}/trace`),
    async counts(domain) {
      try {
        return await call<DomainCounts>("GET", `${path(domain)}/counts`);
      } catch (e) {
        if (e instanceof CliError && e.code === "NOT_TRACED") return null;
        throw e;
      }
    },
    recent: async (domain, limit) =>
      (await call<{ events: RecentEvent[] }>("GET", `${path(domain)}/events?limit=${limit}`)).events,
    async off(domains) {
      for (const d of domains === "all" ? [...byName.keys()] : domains) await call("DELETE", path(d));
    },
    close: async () => undefined,
  };
  return { backend, domains: [...byName.keys()] };
}

/**
 * The tracer in this process. Its instance is named by our pid, so an instance a killed `kvmon trace` left is
 * removed by the next start here or in an agent (removeStale); the duration limit is ours plus the margin.
 */
export async function localBackend(flags: AccessFlags, maxDurationSeconds: number): Promise<TraceBackend> {
  const audit = await CliAudit.open(flags);
  // The poll shares this event loop with the live view: bounded, so a busy guest cannot starve the refresh.
  const tracer = new Tracer({ maxDurationSeconds, ringSize: 1024, bufferKb: 4096, pollBudgetMs: 40 });
  let guest = "";
  const record = async (action: "trace-on" | "trace-off", what: Record<string, unknown>, e?: unknown) =>
    audit.write({
      action,
      guest,
      what,
      outcome: e === undefined ? "ok" : "error",
      status: 0,
      ...(e === undefined ? {} : { code: (e as { code?: string }).code ?? "INTERNAL" }),
    });
  return {
    via: "in-process tracer (no agent)",
    async on(req) {
      guest = req.domains === "all" ? "all" : req.domains.join(",");
      const what = { events: req.events ?? "default", durationSeconds: req.durationSeconds };
      try {
        await tracer.removeStale();
        const status = await tracer.on(req);
        await record("trace-on", what);
        return status;
      } catch (e) {
        await record("trace-on", what, e);
        throw withSuggestion(e, await runningDomains(DEFAULT_PROC_PATHS));
      }
    },
    status: async () => tracer.status(),
    counts: async (domain) => tracer.counts(domain) ?? null,
    recent: async (domain, limit) => tracer.recent(domain, limit) ?? [],
    async off(domains) {
      try {
        if (domains === "all") await tracer.off();
        else for (const d of domains) await tracer.off(d);
        await record("trace-off", {});
      } catch (e) {
        await record("trace-off", {}, e);
        throw e;
      }
    },
    async close() {
      await tracer.close();
      await audit.close();
    },
  };
}

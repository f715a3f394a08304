/**
 * Where `kvmon trace` runs the tracer: in the local agent (its API; the agent audits the switch) or in this
 * process (src/tracer on this host's tracefs, as root; the CLI audits). One interface, so the live view and
 * the always-off logic do not care which.
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
import { CliError } from "./errors.ts";
import { unknownVmMessage } from "./near-matches.ts";

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

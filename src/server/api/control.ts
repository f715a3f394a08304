/**
 * Control routing (issue 14, "Control and the engine API"): the engine's `switch` (trace on/off with a
 * duration) and `getLog` (trace counts and recent events), guest command execution and guest-agent passthrough,
 * routed to the host's agent. Bodies are validated here with the agent's own schemas (src/model/control.ts) so a
 * bad request is refused before it leaves the server; the agent validates, authorizes and audits again. The
 * agent's answer comes back as it is; the server's audit log records the call with the agent's status.
 */
import { z } from "zod";
import {
  agentCommandBody,
  auditedExec,
  diskAuditQuery,
  execBody,
  traceEventNames,
} from "../../model/control.ts";
import type { FleetState } from "../fleet/state.ts";
import { AgentClient, type AgentTls } from "./agent-client.ts";
import { checkedName } from "./domains.ts";
import { HttpError } from "./errors.ts";
import { type ApiContext, route, type RouteSpec } from "./route.ts";

export const traceStartBody = z
  .object({
    events: traceEventNames.optional(),
    durationSeconds: z.number().positive().optional(),
  })
  .strict();

export const traceEventsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(65536).optional(),
    since: z.coerce.number().optional(),
  })
  .strict();

/** GET .../audit answers one domain's disk audit as the agent made it (src/audit, plain data). */
export type { DomainAudit } from "../../audit/types.ts";

/** Time an agent's disk audit takes beyond its latency window (definitions, /proc, QMP). */
const AUDIT_WORK_MS = 15_000;

export interface ControlDeps {
  fleet: FleetState;
  agentTimeoutMs: number;
  /** Verifies https:// agents with the configured agentCa; absent: Node's default CAs. */
  agentTls?: AgentTls;
}

const DOMAIN = "/api/v1/domains/:host/:name";

/** The route's host's agent and domain name, both checked, and noted for the audit log. */
export function agentTarget(c: ApiContext, deps: ControlDeps): { agent: AgentClient; name: string } {
  const host = checkedName("host", c.req.param("host") ?? "");
  const raw = c.req.param("name");
  const name = raw === undefined ? null : checkedName("name", raw);
  const note = c.get("audit");
  note.host = host;
  note.domain = name;
  const endpoint = deps.fleet.host(host)?.agent;
  if (!endpoint)
    throw new HttpError(
      409,
      "AGENT_NOT_REGISTERED",
      `host '${host}' has no agent registered for control calls`,
      {
        hint: `kvmon server host add ${host} --agent-url URL --control-token-file FILE`,
      },
    );
  return { agent: new AgentClient(host, endpoint, deps.agentTimeoutMs, deps.agentTls), name: name ?? "" };
}

export function controlRoutes(deps: ControlDeps): RouteSpec[] {
  const target = (c: ApiContext) => agentTarget(c, deps);
  /** The agent's answer as it came; its error code goes to the audit log. */
  const relay = (c: ApiContext, a: { status: number; body: unknown }) => {
    const code = (a.body as { error?: { code?: unknown } } | null)?.error?.code;
    if (a.status >= 400 && typeof code === "string") c.get("audit").code = code;
    return c.json(a.body as object, a.status as 200);
  };
  const enc = encodeURIComponent;

  return [
    route({
      method: "POST",
      path: `${DOMAIN}/trace`,
      access: "operator",
      audit: "trace-on",
      summary: "Start KVM exit tracing of the domain (the engine's switch on), for durationSeconds",
      body: traceStartBody,
      handler: async (c, { body }) => {
        const { agent, name } = target(c);
        c.get("audit").what = { ...body };
        return relay(c, await agent.call("POST", "/api/v1/trace", { domains: [name], ...body }));
      },
    }),
    route({
      method: "DELETE",
      path: `${DOMAIN}/trace`,
      access: "operator",
      audit: "trace-off",
      summary: "Stop tracing the domain (the engine's switch off)",
      handler: async (c) => {
        const { agent, name } = target(c);
        return relay(c, await agent.call("DELETE", `/api/v1/trace/${enc(name)}`));
      },
    }),
    route({
      method: "GET",
      path: "/api/v1/hosts/:host/trace",
      access: "viewer",
      summary: "The host tracer's status (events enabled, domains traced, health)",
      handler: async (c) => relay(c, await target(c).agent.call("GET", "/api/v1/trace")),
    }),
    route({
      method: "GET",
      path: `${DOMAIN}/trace/counts`,
      access: "viewer",
      summary: "Exit counts of the domain's trace run (by vCPU, event, reason)",
      handler: async (c) => {
        const { agent, name } = target(c);
        return relay(c, await agent.call("GET", `/api/v1/trace/${enc(name)}/counts`));
      },
    }),
    route({
      method: "GET",
      path: `${DOMAIN}/trace/events`,
      access: "viewer",
      summary: "The domain's recent exit events (the engine's getLog)",
      query: traceEventsQuery,
      handler: async (c, { query }) => {
        const { agent, name } = target(c);
        const qs = new URLSearchParams(
          Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
        );
        return relay(c, await agent.call("GET", `/api/v1/trace/${enc(name)}/events?${qs}`));
      },
    }),
    route({
      method: "POST",
      path: `${DOMAIN}/exec`,
      access: "operator",
      audit: "exec",
      summary: "Run a program in the guest through its guest agent",
      body: execBody,
      handler: async (c, { body }) => {
        const { agent, name } = target(c);
        c.get("audit").what = auditedExec(body);
        // The agent waits for the program up to its timeout: the deadline is that plus the usual one.
        return relay(
          c,
          await agent.call("POST", `/api/v1/domains/${enc(name)}/exec`, body, body.timeout * 1000),
        );
      },
    }),
    route({
      method: "GET",
      path: `${DOMAIN}/audit`,
      access: "operator",
      audit: "disk-audit",
      summary:
        "The domain's disk cache/io audit (kvmon audit): definitions vs what QEMU runs with; qmp=1 taints the domain",
      query: diskAuditQuery,
      handler: async (c, { query }) => {
        const { agent, name } = target(c);
        c.get("audit").what = { ...query };
        const qs = `qmp=${query.qmp ? 1 : 0}&windowMs=${query.windowMs}`;
        return relay(
          c,
          await agent.call(
            "GET",
            `/api/v1/domains/${enc(name)}/audit?${qs}`,
            undefined,
            query.windowMs + AUDIT_WORK_MS,
          ),
        );
      },
    }),
    route({
      method: "POST",
      path: `${DOMAIN}/agent-command`,
      access: "operator",
      audit: "agent-command",
      summary: "Pass one command to the guest agent",
      body: agentCommandBody,
      handler: async (c, { body }) => {
        const { agent, name } = target(c);
        // Argument names only: values may be secrets (guest-set-user-password).
        c.get("audit").what = { execute: body.execute, arguments: Object.keys(body.arguments ?? {}) };
        return relay(c, await agent.call("POST", `/api/v1/domains/${enc(name)}/agent-command`, body));
      },
    }),
  ];
}

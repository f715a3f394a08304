/**
 * The wire types of the fleet server's JSON API, taken from the server's own route code by `import type` (no
 * server code reaches a bundle): a route whose answer or query changes shape breaks `tsc` here and in every
 * caller, not the page at run time.
 */
import type { z } from "zod";
import type { diskAuditQuery, execBody, GuestExecResult } from "../model/control.ts";
import type { DomainCounts, RecentEvent, RecentEvents, SecondCounts, TracerStatus } from "../model/trace.ts";
import type { DomainAudit, traceEventsQuery, traceStartBody } from "../server/api/control.ts";
import type { domainsQuery, FleetDomain, listDomains } from "../server/api/domains.ts";
import type { RangeAnswer, seriesRangeQuery } from "../server/api/series.ts";
import type { DomainView } from "../server/api/read-routes.ts";
import type { SessionView } from "../server/api/session-routes.ts";
import type { CreatedToken, tokenCreateBody } from "../server/api/token-routes.ts";
import type { AuditQuery, AuditRecord, AuditStore } from "../server/auth/audit.ts";
import type { TokenInfo } from "../server/auth/tokens.ts";
import type { ConsoleTicket } from "../server/auth/console-tickets.ts";
import type { HostView } from "../server/fleet/host-view.ts";
import type { EventQuery, FleetState, StoredEvent } from "../server/fleet/state.ts";

export type {
  AuditRecord,
  CreatedToken,
  ConsoleTicket,
  DomainAudit,
  DomainView,
  FleetDomain,
  HostView,
  RangeAnswer,
  SessionView,
  StoredEvent,
  TokenInfo,
};

/** GET /api/v1/domains: what the caller may pass (the parsed query's fields, all optional). */
export type DomainsQuery = Partial<z.output<typeof domainsQuery>>;
export type DomainsPage = ReturnType<typeof listDomains>;

/** GET /api/v1/series/range: a metric and, optionally, the rest (times in epoch seconds). */
type SeriesFields = z.output<typeof seriesRangeQuery>;
export type SeriesQuery = Pick<SeriesFields, "metric"> & Partial<Omit<SeriesFields, "metric">>;

export type EventsQuery = Partial<EventQuery>;
export type EventsPage = ReturnType<FleetState["events"]>;

export type AuditLogQuery = Partial<AuditQuery>;
export type AuditPage = ReturnType<AuditStore["query"]>;

/** POST /api/v1/tokens: `{name, role}` or `{host}`. */
export type TokenCreateRequest = z.input<typeof tokenCreateBody>;

/** POST /api/v1/domains/{host}/{name}/exec: the agent's exec body (src/model/control.ts). */
export type ExecRequest = z.input<typeof execBody>;
/** POST /api/v1/domains/{host}/{name}/trace. */
export type TraceStartRequest = z.input<typeof traceStartBody>;

/**
 * GET /api/v1/domains/{host}/{name}/audit: `qmp` asks QEMU's query-block (taints the domain), `windowMs` the
 * latency window (0 skips it). The answer is the agent's DomainAudit unchanged (`kvmon audit --json`'s entry).
 */
export type DiskAuditRequest = Partial<z.output<typeof diskAuditQuery>>;

/** A guest command's result, relayed unchanged from the agent (the type both share, in src/model). */
export type ExecResult = GuestExecResult;

/** The tracer's answers the server relays unchanged (src/model/trace.ts). */
export type TraceCounts = DomainCounts;
export type TraceStatus = TracerStatus;
export type TraceEvents = RecentEvents;
export type { RecentEvent, SecondCounts };

/** GET /api/v1/domains/{host}/{name}/trace/events: since (epoch ms, exclusive) and limit. */
export type TraceEventsQuery = Partial<z.output<typeof traceEventsQuery>>;

/**
 * The read side of the JSON API (viewer role): hosts, domains (filtered, sorted, paged), one domain's current
 * view, lifecycle events, series ranges from the SeriesStore; and the audit log (admin role).
 */
import { z } from "zod";
import type { DomainSample } from "../../model/types.ts";
import type { AuditStore } from "../auth/audit.ts";
import { type HostView, hostView, hostViewSchema } from "../fleet/host-view.ts";
import type { FleetState } from "../fleet/state.ts";
import type { SeriesStore } from "../storage/types.ts";
import { checkedName, domainsQuery, listDomains, MAX_PAGE } from "./domains.ts";
import { HttpError } from "./errors.ts";
import { route, type RouteSpec } from "./route.ts";
import { seriesRange, seriesRangeQuery } from "./series.ts";

/** GET /api/v1/domains/{host}/{name}: what the host sees (libvirt), what the guest reports, what the tracer saw. */
export interface DomainView {
  hostName: string;
  hostStatus: HostView;
  /** When the host's snapshot was collected (epoch ms). */
  collectedAt: number;
  host: Omit<DomainSample, "guest" | "trace">;
  guest: DomainSample["guest"];
  trace: DomainSample["trace"];
}

export interface ReadDeps {
  fleet: FleetState;
  audit: AuditStore;
  store: SeriesStore;
  now: () => number;
  pushIntervalMs: number;
}

const page = {
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100),
  before: z.coerce.number().int().positive().optional().describe("the previous page's `next`"),
  since: z.coerce.number().optional().describe("epoch ms"),
};
const name = z.string().min(1).max(256);

const eventsQuery = z.object({ host: name.optional(), domain: name.optional(), ...page }).strict();
const auditQuery = z
  .object({
    who: name.optional(),
    host: name.optional(),
    domain: name.optional(),
    action: name.optional(),
    ...page,
  })
  .strict();

export function readRoutes(deps: ReadDeps): RouteSpec[] {
  const snapshots = () =>
    deps.fleet.all().flatMap((h) => (h.snapshot ? [{ host: h.name, snapshot: h.snapshot }] : []));
  return [
    route({
      method: "GET",
      path: "/api/v1/hosts",
      access: "viewer",
      summary: "Every host: agent up, libvirt reachable, last push, agent version, host CPU and memory usage",
      response: z.object({ hosts: z.array(hostViewSchema) }),
      handler: (c) => {
        const now = deps.now();
        return c.json({ hosts: deps.fleet.all().map((h) => hostView(h, now, deps.pushIntervalMs)) });
      },
    }),
    route({
      method: "GET",
      path: "/api/v1/domains",
      access: "viewer",
      summary:
        "Domains of every host: filter by host/state/name/label, sort by any numeric field, top-N, paging",
      query: domainsQuery,
      handler: (c, { query }) => c.json(listDomains(snapshots(), query)),
    }),
    route({
      method: "GET",
      path: "/api/v1/domains/:host/:name",
      access: "viewer",
      summary: "One domain's current view (host, guest and trace sections), by name or UUID",
      handler: (c) => {
        const host = checkedName("host", c.req.param("host") ?? "");
        const name = checkedName("name", c.req.param("name") ?? "");
        const h = deps.fleet.host(host);
        if (!h?.snapshot) throw new HttpError(404, "HOST_NOT_FOUND", `no snapshot from host '${host}'`);
        const d =
          h.snapshot.domains.find((x) => x.name === name) ??
          h.snapshot.domains.find((x) => x.uuid === name.toLowerCase());
        if (!d) throw new HttpError(404, "DOMAIN_NOT_FOUND", `no domain '${name}' on host '${host}'`);
        const { guest, trace, ...hostSide } = d;
        // The three sections: what the host sees (libvirt), what the guest reports, what the tracer saw.
        const view: DomainView = {
          hostName: host,
          hostStatus: hostView(h, deps.now(), deps.pushIntervalMs),
          collectedAt: h.snapshot.finishedAt,
          host: hostSide,
          guest,
          trace,
        };
        return c.json(view);
      },
    }),
    route({
      method: "GET",
      path: "/api/v1/events",
      access: "viewer",
      summary: "Domain lifecycle events, newest first (paged by `before`)",
      query: eventsQuery,
      handler: (c, { query }) => c.json(deps.fleet.events(query)),
    }),
    route({
      method: "GET",
      path: "/api/v1/series/range",
      access: "viewer",
      summary: "One metric's series over a range, bucketed by step with an aggregation",
      query: seriesRangeQuery,
      handler: async (c, { query }) => c.json(await seriesRange(deps.store, query, deps.now())),
    }),
    route({
      method: "GET",
      path: "/api/v1/audit",
      access: "admin",
      summary: "The audit log, newest first (paged by `before`)",
      query: auditQuery,
      handler: (c, { query }) => c.json(deps.audit.query(query)),
    }),
  ];
}

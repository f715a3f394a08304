/**
 * What agents push besides samples: POST /api/v1/push/snapshot (the agent's snapshot, validated with the
 * model's schema) and POST /api/v1/push/events (a JSON array of lifecycle events). Both take a host token; the
 * token names the host, so an agent can only write its own host's state. Answered 204 once stored durably.
 */
import { lifecycleEventsSchema } from "../../model/lifecycle-event.ts";
import { snapshotSchema } from "../../model/schema.ts";
import { route, type RouteSpec } from "../api/route.ts";
import { ForbiddenError } from "../auth/errors.ts";
import type { Principal } from "../auth/types.ts";
import type { FleetState } from "./state.ts";

export function pushRoutes(fleet: FleetState, now: () => number): RouteSpec[] {
  /** The pushing host: the route's access check let only host tokens through. */
  const hostOf = (p: Principal): string => {
    if (p.kind !== "host") throw new ForbiddenError("this endpoint takes an agent's host token");
    return p.host;
  };
  return [
    route({
      method: "POST",
      path: "/api/v1/push/snapshot",
      access: "host",
      summary: "An agent's latest snapshot (src/model/schema.ts); kept as the host's current state",
      body: snapshotSchema,
      handler: (c, { body }) => {
        fleet.putSnapshot(
          hostOf(c.get("principal")),
          body,
          now(),
          c.req.header("user-agent")?.slice(0, 128) ?? null,
        );
        return c.body(null, 204);
      },
    }),
    route({
      method: "POST",
      path: "/api/v1/push/events",
      access: "host",
      summary: "Domain lifecycle events from an agent",
      body: lifecycleEventsSchema,
      handler: (c, { body }) => {
        fleet.addEvents(hostOf(c.get("principal")), body);
        return c.body(null, 204);
      },
    }),
  ];
}

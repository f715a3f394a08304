/**
 * A domain lifecycle event as an agent pushes it to the fleet server (POST /api/v1/push/events, a JSON array):
 * libvirt's lifecycle event (started, stopped, suspended, ...) with its detail (booted, destroyed, ...).
 */
import { z } from "zod";

export interface LifecycleEvent {
  /** When the agent received it (epoch ms). */
  time: number;
  domain: string;
  uuid: string | null;
  /** libvirt's event name, lower case: defined, undefined, started, suspended, resumed, stopped, ... */
  type: string;
  /** libvirt's detail for the type, lower case (booted, destroyed, crashed, ...); null when none. */
  detail: string | null;
}

export const lifecycleEventSchema: z.ZodType<LifecycleEvent> = z
  .object({
    time: z.number().int().nonnegative(),
    domain: z.string().min(1).max(256),
    uuid: z.string().max(64).nullable(),
    type: z.string().regex(/^[a-z_-]{1,32}$/, "must be a lower-case event name"),
    detail: z.string().max(64).nullable(),
  })
  .strict();

/** The most events one push may carry. */
export const MAX_EVENTS_PER_PUSH = 10_000;

export const lifecycleEventsSchema = z.array(lifecycleEventSchema).max(MAX_EVENTS_PER_PUSH);

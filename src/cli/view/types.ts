/**
 * The CLI's fleet view: where `top` and `shell` read VMs from. One interface over the data sources: the local
 * agent's JSON API, an in-process collection through the agent's own scheduler and collectors, and the fleet
 * server (every host's VMs, each with its host). Every source returns the model's types, so what is drawn does not depend on where it came from.
 */
import type { DomainSample, HostSample } from "../../model/types.ts";

/** Which kind of source answered: shown on the status line and in JSON output. */
export type ViewSourceKind = "agent" | "local" | "server";

/** A VM as the view holds it; through the fleet server it carries the host it runs on. */
export type ViewDomain = DomainSample & { host?: string };

/** A host of the fleet, as the server lists it. */
export interface FleetHost {
  name: string;
  agentUp: boolean;
  domains: number;
}

export interface ViewSnapshot {
  source: ViewSourceKind;
  /** Where it came from: the agent's or server's URL, or the libvirt URI of an in-process collection. */
  origin: string;
  /** When the collection finished (epoch ms). */
  collectedAt: number;
  /** The one host read (agent, in-process); null for the fleet server's view of many (`hosts`). */
  host: HostSample | null;
  /** The fleet server's hosts; null for one host's view. */
  hosts: FleetHost[] | null;
  domains: ViewDomain[];
}

export interface ViewSource {
  readonly kind: ViewSourceKind;
  readonly origin: string;
  /** The newest view; rates need two samples, so the first call may wait one interval. */
  snapshot(): Promise<ViewSnapshot>;
  close(): Promise<void>;
}

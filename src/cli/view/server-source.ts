/**
 * The fleet's view through the kvmon server (`top --server URL`): every host's VMs from GET /api/v1/domains
 * (the latest snapshot each agent pushed, with its host) and the hosts from GET /api/v1/hosts, read together
 * with a viewer token. The agents computed the rates, so every call is one round trip per page; the answer is
 * checked with the model's schema where it crosses the process boundary.
 */
import { z } from "zod";
import { domainSampleSchema, parseWith } from "../../model/schema.ts";
import type { ServerClient } from "../server-client.ts";
import type { ViewSnapshot, ViewSource } from "./types.ts";

/** The server's largest page of domains. */
const PAGE = 1000;

const hostsReply = z.object({
  hosts: z.array(
    z.object({
      name: z.string(),
      agentUp: z.boolean(),
      domains: z.number(),
      collectedAt: z.number().nullable(),
    }),
  ),
});
const domainsReply = z.object({
  total: z.number(),
  domains: z.array(z.intersection(domainSampleSchema, z.object({ host: z.string() }))),
});

export class ServerViewSource implements ViewSource {
  readonly kind = "server" as const;
  readonly origin: string;
  private readonly server: ServerClient;

  constructor(server: ServerClient) {
    this.server = server;
    this.origin = server.url;
  }

  async snapshot(): Promise<ViewSnapshot> {
    const [h, first] = await Promise.all([this.server.request("GET", "/api/v1/hosts"), this.page(0)]);
    const { hosts } = parseWith(hostsReply, h, "server /api/v1/hosts");
    const domains = [...first.domains];
    while (domains.length < first.total) {
      const next = await this.page(domains.length);
      if (next.domains.length === 0) break; // the fleet shrank meanwhile
      domains.push(...next.domains);
    }
    return {
      source: this.kind,
      origin: this.origin,
      collectedAt: Math.max(0, ...hosts.map((x) => x.collectedAt ?? 0)),
      host: null,
      hosts: hosts.map(({ name, agentUp, domains: n }) => ({ name, agentUp, domains: n })),
      domains,
    };
  }

  private async page(offset: number) {
    const reply = await this.server.request("GET", `/api/v1/domains?limit=${PAGE}&offset=${offset}`);
    return parseWith(domainsReply, reply, "server /api/v1/domains");
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

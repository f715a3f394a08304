/**
 * The view through a running agent's JSON API (GET /api/v1/host and /api/v1/domains, read together). The agent
 * already holds rates over its own interval, so every call is one round trip; the answer is checked with the
 * model's schema where it crosses the process boundary.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { domainSampleSchema, hostSampleSchema, parseWith } from "../../model/schema.ts";
import { AgentClient } from "../agent-client.ts";
import { CliError } from "../errors.ts";
import type { ViewSnapshot, ViewSource } from "./types.ts";

const hostReply = z.object({ collectedAt: z.number(), host: hostSampleSchema });
const domainsReply = z.object({ collectedAt: z.number(), domains: z.array(domainSampleSchema) });

/** How long a freshly started agent may take to publish its first snapshot. */
const FIRST_SAMPLE_WAIT_MS = 15_000;

export class AgentViewSource implements ViewSource {
  readonly kind = "agent" as const;
  readonly origin: string;
  private readonly agent: AgentClient;

  /** Reads need no control token: none is read from the environment. */
  constructor(base: string, timeoutMs = 5000) {
    this.agent = new AgentClient({ agent: base }, {}, timeoutMs);
    this.origin = this.agent.url;
  }

  async snapshot(): Promise<ViewSnapshot> {
    const deadline = Date.now() + FIRST_SAMPLE_WAIT_MS;
    for (;;) {
      try {
        return await this.read();
      } catch (e) {
        // A freshly started agent answers 503 until its first collection is done.
        if (!(e instanceof CliError && e.code === "NO_SAMPLE_YET") || Date.now() > deadline) throw e;
        await sleep(500);
      }
    }
  }

  private async read(): Promise<ViewSnapshot> {
    const [h, d] = await Promise.all([
      this.agent.request("GET", "/api/v1/host"),
      this.agent.request("GET", "/api/v1/domains"),
    ]);
    const host = parseWith(hostReply, h, "agent /api/v1/host");
    const domains = parseWith(domainsReply, d, "agent /api/v1/domains");
    return {
      source: this.kind,
      origin: this.origin,
      collectedAt: domains.collectedAt,
      host: host.host,
      hosts: null,
      domains: domains.domains,
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

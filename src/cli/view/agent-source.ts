/**
 * The view through a running agent's JSON API (GET /api/v1/host and /api/v1/domains, read together). The agent
 * already holds rates over its own interval, so every call is one round trip; the answer is checked with the
 * model's schema where it crosses the process boundary.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { domainSampleSchema, hostSampleSchema, parseWith } from "../../model/schema.ts";
import { KvmonError } from "../../shared/errors.ts";
import { CliError } from "../errors.ts";
import type { ViewSnapshot, ViewSource } from "./types.ts";

export const DEFAULT_AGENT_URL = "http://127.0.0.1:9477";

const hostReply = z.object({ collectedAt: z.number(), host: hostSampleSchema });
const domainsReply = z.object({ collectedAt: z.number(), domains: z.array(domainSampleSchema) });
const errorReply = z.object({
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }),
});

/** How long a freshly started agent may take to publish its first snapshot. */
const FIRST_SAMPLE_WAIT_MS = 15_000;

/** The agent's answer to a request, or a CliError naming what failed (its own error code when it sent one). */
export async function agentRequest(
  base: string,
  path: string,
  timeoutMs: number,
  init: RequestInit = {},
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(path, base), { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new AgentUnreachableError(base, e);
  }
  const body: unknown = await res.json().catch(() => null);
  if (res.ok) return body;
  const err = errorReply.safeParse(body);
  if (err.success) {
    const { code, message, hint } = err.data.error;
    throw new CliError(`agent ${base}: ${message}`, { code, hint });
  }
  throw new CliError(`agent ${base}: ${path} answered HTTP ${res.status}`, { code: "AGENT_BAD_REPLY" });
}

export class AgentUnreachableError extends KvmonError {
  override name = "AgentUnreachableError";
  constructor(base: string, cause: unknown) {
    super("AGENT_UNREACHABLE", `no kvmon agent answers at ${base}: ${(cause as Error)?.message ?? cause}`, {
      hint: "start one with 'kvmon agent', or point --agent / KVMON_AGENT_URL at a running one",
      cause,
    });
  }
}

export class AgentViewSource implements ViewSource {
  readonly kind = "agent" as const;
  readonly origin: string;
  private readonly timeoutMs: number;

  constructor(base: string, timeoutMs = 5000) {
    this.origin = base.replace(/\/+$/, "");
    this.timeoutMs = timeoutMs;
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
      agentRequest(this.origin, "/api/v1/host", this.timeoutMs),
      agentRequest(this.origin, "/api/v1/domains", this.timeoutMs),
    ]);
    const host = parseWith(hostReply, h, "agent /api/v1/host");
    const domains = parseWith(domainsReply, d, "agent /api/v1/domains");
    return {
      source: this.kind,
      origin: this.origin,
      collectedAt: domains.collectedAt,
      host: host.host,
      domains: domains.domains,
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

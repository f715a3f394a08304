/**
 * Console tickets. A browser cannot set a header on a WebSocket, so the dashboard asks for a ticket with its
 * bearer token (POST /api/v1/domains/{host}/{name}/console/ticket) and opens the console socket with
 * `?ticket=`. A ticket is 32 random bytes (base64url), good for one use within 30 s, by the principal it was
 * issued to, for one host and domain. Tickets live in memory only (a restart voids them; they last 30 s
 * anyway), keyed by their SHA-256, so a lookup never compares the secret itself and a memory dump holds none.
 */
import crypto from "node:crypto";
import { UnauthenticatedError } from "./errors.ts";
import type { Principal } from "./types.ts";

export const TICKET_TTL_MS = 30_000;
/** At most this many live tickets; past it the oldest is dropped (each one is an operator's request). */
const MAX_LIVE = 10_000;

/** POST .../console/ticket's answer. */
export interface ConsoleTicket {
  ticket: string;
  /** Epoch ms after which the console refuses it. */
  expiresAt: number;
}

interface Issued {
  principal: Principal;
  host: string;
  domain: string;
  expiresAt: number;
}

const keyOf = (ticket: string) => crypto.createHash("sha256").update(ticket, "utf8").digest("base64url");

export class ConsoleTickets {
  private readonly live = new Map<string, Issued>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  issue(principal: Principal, host: string, domain: string): ConsoleTicket {
    this.sweep();
    const ticket = crypto.randomBytes(32).toString("base64url");
    const expiresAt = this.now() + TICKET_TTL_MS;
    this.live.set(keyOf(ticket), { principal, host, domain, expiresAt });
    if (this.live.size > MAX_LIVE) this.live.delete(this.live.keys().next().value!);
    return { ticket, expiresAt };
  }

  /** The principal the ticket was issued to. The ticket is spent by any attempt, refused or not. */
  redeem(ticket: string, host: string, domain: string): Principal {
    const key = keyOf(ticket);
    const issued = this.live.get(key);
    this.live.delete(key);
    const hint = "ask for a new one: POST /api/v1/domains/{host}/{name}/console/ticket";
    if (!issued) throw new UnauthenticatedError("the console ticket is unknown or already used", { hint });
    if (this.now() >= issued.expiresAt)
      throw new UnauthenticatedError(
        `the console ticket has expired (a ticket lasts ${TICKET_TTL_MS / 1000} s)`,
        {
          hint,
        },
      );
    if (issued.host !== host || issued.domain !== domain)
      throw new UnauthenticatedError("the console ticket was issued for another domain", { hint });
    return issued.principal;
  }

  /** How many tickets are live (for tests). */
  get size(): number {
    this.sweep();
    return this.live.size;
  }

  /** Drops expired tickets: the map is in issue order, so they are at its front. */
  private sweep(): void {
    const now = this.now();
    for (const [key, t] of this.live) {
      if (now < t.expiresAt) break;
      this.live.delete(key);
    }
  }
}

/**
 * A typed client of the fleet server's JSON API for the dashboard (and any script): one method per route, each
 * request with a deadline (TimeoutError), the server's error answers as ApiError with its code and hint, and
 * a failure to reach the server as ApiUnreachableError. Runs wherever `fetch` does (browser, Node).
 */
import { TimeoutError } from "../shared/errors.ts";
import { ApiError, ApiUnreachableError } from "./errors.ts";
import type {
  AuditLogQuery,
  DiskAuditRequest,
  DomainAudit,
  AuditPage,
  CreatedToken,
  ConsoleTicket,
  DomainsPage,
  DomainsQuery,
  DomainView,
  EventsPage,
  EventsQuery,
  ExecRequest,
  ExecResult,
  HostView,
  RangeAnswer,
  SeriesQuery,
  SessionView,
  TokenCreateRequest,
  TokenInfo,
  TraceCounts,
  TraceEvents,
  TraceEventsQuery,
  TraceStartRequest,
  TraceStatus,
} from "./types.ts";

export const DEFAULT_TIMEOUT_MS = 10_000;

export interface ClientOptions {
  /** The server's origin, e.g. `https://kvmon:9478`; "" for the page's own origin. */
  baseUrl: string;
  token: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

type QueryValue = string | number | boolean | undefined | readonly string[];

/** `?a=1&b=x&b=y` from an object; undefined values are left out, arrays repeat the key. */
export function queryString(q: Readonly<Record<string, QueryValue>>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) p.append(k, String(one));
  }
  const s = p.toString();
  return s === "" ? "" : `?${s}`;
}

const seg = encodeURIComponent;

export class ApiClient {
  private readonly opts: Required<ClientOptions>;

  constructor(opts: ClientOptions) {
    this.opts = {
      ...opts,
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      fetch: opts.fetch ?? globalThis.fetch.bind(globalThis),
    };
  }

  session(): Promise<SessionView> {
    return this.get("/api/v1/session");
  }

  hosts(): Promise<{ hosts: HostView[] }> {
    return this.get("/api/v1/hosts");
  }

  domains(q: DomainsQuery = {}): Promise<DomainsPage> {
    return this.get(`/api/v1/domains${queryString(q)}`);
  }

  domain(host: string, name: string): Promise<DomainView> {
    return this.get(this.domainPath(host, name));
  }

  events(q: EventsQuery = {}): Promise<EventsPage> {
    return this.get(`/api/v1/events${queryString(q)}`);
  }

  series(q: SeriesQuery): Promise<RangeAnswer> {
    return this.get(`/api/v1/series/range${queryString(q)}`);
  }

  audit(q: AuditLogQuery = {}): Promise<AuditPage> {
    return this.get(`/api/v1/audit${queryString(q)}`);
  }

  /** Every token, live and revoked (admin); never a secret. */
  tokens(): Promise<{ tokens: TokenInfo[] }> {
    return this.get("/api/v1/tokens");
  }

  /** Makes a user token (`{name, role}`) or a host's agent token (`{host}`) (admin); the secret is shown once. */
  createToken(body: TokenCreateRequest): Promise<CreatedToken> {
    return this.request("POST", "/api/v1/tokens", body);
  }

  /** Revokes a live token by id or name (admin); the server refuses the last admin token. */
  revokeToken(idOrName: string): Promise<TokenInfo> {
    return this.request("DELETE", `/api/v1/tokens/${seg(idOrName)}`);
  }

  /** Switches tracing on for the domain (operator); the answer is the tracer's status. */
  traceOn(host: string, name: string, body: TraceStartRequest = {}): Promise<TraceStatus> {
    return this.request("POST", `${this.domainPath(host, name)}/trace`, body);
  }

  traceOff(host: string, name: string): Promise<TraceStatus> {
    return this.request("DELETE", `${this.domainPath(host, name)}/trace`);
  }

  traceStatus(host: string): Promise<TraceStatus> {
    return this.get(`/api/v1/hosts/${seg(host)}/trace`);
  }

  traceCounts(host: string, name: string): Promise<TraceCounts> {
    return this.get(`${this.domainPath(host, name)}/trace/counts`);
  }

  /** The domain's most recent exit events (oldest first), those after `since` (epoch ms) when given. */
  traceEvents(host: string, name: string, q: TraceEventsQuery = {}): Promise<TraceEvents> {
    return this.get(`${this.domainPath(host, name)}/trace/events${queryString(q)}`);
  }

  /** Runs a program in the guest through its agent (operator); waits up to the body's timeout. */
  exec(host: string, name: string, body: ExecRequest): Promise<ExecResult> {
    const waitMs = ((body.timeout ?? 30) + 10) * 1000;
    return this.request("POST", `${this.domainPath(host, name)}/exec`, body, waitMs);
  }

  /** A single-use ticket (30 s) for the domain's console socket (operator): browsers cannot set its headers. */
  consoleTicket(host: string, name: string): Promise<ConsoleTicket> {
    return this.request("POST", `${this.domainPath(host, name)}/console/ticket`);
  }

  /**
   * The console socket's URL for a ticket: ws:// or wss:// on the server, `pageOrigin` (the page's) when the
   * client's baseUrl is "". Binary frames both ways; a console the server cannot open closes with 4000 + the
   * HTTP status and `CODE: message` as the reason.
   */
  consoleUrl(host: string, name: string, ticket: string, pageOrigin?: string): string {
    const url = new URL(
      `${this.domainPath(host, name)}/console${queryString({ ticket })}`,
      this.opts.baseUrl || pageOrigin,
    );
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }

  /** The domain's disk cache/io audit (operator); waits for the latency window (default 2 s). */
  diskAudit(host: string, name: string, q: DiskAuditRequest = {}): Promise<DomainAudit> {
    const waitMs = (q.windowMs ?? 2000) + 20_000;
    const qs = queryString({
      qmp: q.qmp === undefined ? undefined : q.qmp ? "1" : "0",
      windowMs: q.windowMs,
    });
    return this.request("GET", `${this.domainPath(host, name)}/audit${qs}`, undefined, waitMs);
  }

  private domainPath(host: string, name: string): string {
    return `/api/v1/domains/${seg(host)}/${seg(name)}`;
  }

  private get<T>(path: string): Promise<T> {
    return this.request("GET", path);
  }

  private async request<T>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    body?: unknown,
    timeoutMs = this.opts.timeoutMs,
  ): Promise<T> {
    const { baseUrl, token } = this.opts;
    const what = `${method} ${path.split("?")[0]}`;
    let res: Response;
    try {
      res = await this.opts.fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === "TimeoutError")
        throw new TimeoutError(what, timeoutMs, { cause: e });
      throw new ApiUnreachableError(`${what}: ${(e as Error).message}`, { cause: e });
    }
    let answer: unknown;
    try {
      answer = await res.json();
    } catch (e) {
      throw new ApiUnreachableError(`${what}: HTTP ${res.status} with a body that is not JSON`, { cause: e });
    }
    if (!res.ok) {
      const err = (answer as { error?: { code?: string; message?: string; hint?: string } }).error;
      throw new ApiError(
        res.status,
        err?.code ?? "HTTP_ERROR",
        err?.message ?? `${what}: HTTP ${res.status}`,
        {
          hint: err?.hint,
        },
      );
    }
    return answer as T;
  }
}

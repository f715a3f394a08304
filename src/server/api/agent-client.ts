/**
 * Calls a host agent's control API (src/agent/control: /api/v1/domains/{name}/exec, /agent-command,
 * /api/v1/trace...) with the agent's control token, under a deadline. The agent's answer (status and JSON body,
 * its errors included) is handed back as it came; the server only adds its own errors for an agent it cannot
 * reach (502 AGENT_UNREACHABLE), one that does not answer in time (504 TIMEOUT) or answers no JSON (502
 * AGENT_BAD_ANSWER).
 */
import type { Dispatcher } from "undici";
import { WebSocket } from "ws";
import { TimeoutError } from "../../shared/errors.ts";
import type { AgentEndpoint } from "../fleet/state.ts";
import { HttpError } from "./errors.ts";

/** Largest answer taken from an agent (exec returns up to 2 x 3 MiB of output, base64 in JSON). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** How the server verifies https:// agents: the trusted CAs (system + agentCa) for WebSockets, a pool for fetch. */
export interface AgentTls {
  ca: string[];
  dispatcher: Dispatcher;
}

/** A failed fetch's reason: undici says "fetch failed" and keeps the TLS or socket error as its cause. */
function reason(e: unknown): string {
  const cause = (e as Error).cause;
  return cause instanceof Error ? `${(e as Error).message}: ${cause.message}` : (e as Error).message;
}

export interface AgentAnswer {
  status: number;
  body: unknown;
}

export class AgentClient {
  private readonly endpoint: AgentEndpoint;
  private readonly host: string;
  private readonly timeoutMs: number;
  private readonly tls: AgentTls | null;

  constructor(host: string, endpoint: AgentEndpoint, timeoutMs: number, tls: AgentTls | null = null) {
    this.host = host;
    this.endpoint = endpoint;
    this.timeoutMs = timeoutMs;
    this.tls = tls;
  }

  /** One control call; `extraMs` lengthens the deadline for calls that wait on purpose (exec's own timeout). */
  async call(
    method: "GET" | "POST" | "DELETE",
    path: string,
    body?: unknown,
    extraMs = 0,
  ): Promise<AgentAnswer> {
    const timeoutMs = this.timeoutMs + extraMs;
    const url = new URL(path, this.endpoint.url);
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.endpoint.controlToken) headers.authorization = `Bearer ${this.endpoint.controlToken}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: "error",
        ...(this.tls ? { dispatcher: this.tls.dispatcher } : {}),
      } as RequestInit);
      if (Number(res.headers.get("content-length") ?? 0) > MAX_ANSWER_BYTES)
        throw new HttpError(
          502,
          "AGENT_BAD_ANSWER",
          `host ${this.host}'s agent answered more than ${MAX_ANSWER_BYTES} bytes`,
        );
      text = await res.text();
    } catch (e) {
      if (e instanceof HttpError) throw e;
      if ((e as Error).name === "TimeoutError")
        throw new TimeoutError(`host ${this.host}'s agent (${method} ${url.pathname})`, timeoutMs, {
          cause: e,
        });
      throw new HttpError(
        502,
        "AGENT_UNREACHABLE",
        `cannot reach host ${this.host}'s agent at ${this.endpoint.url}: ${reason(e)}`,
        {
          hint: "check the agent runs, the URL given to 'kvmon server host add --agent-url' and, for https://, that the server's agentCa signed the agent's certificate",
          cause: e,
        },
      );
    }
    try {
      return { status: res.status, body: JSON.parse(text) as unknown };
    } catch (e) {
      throw new HttpError(
        502,
        "AGENT_BAD_ANSWER",
        `host ${this.host}'s agent answered ${res.status} without JSON`,
        { cause: e },
      );
    }
  }

  /** Opens the domain's console WebSocket on the agent; rejects with the agent's refusal or a timeout. */
  openConsole(name: string): Promise<WebSocket> {
    const url = new URL(`/api/v1/domains/${encodeURIComponent(name)}/console`, this.endpoint.url);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const headers: Record<string, string> = {};
    if (this.endpoint.controlToken) headers.authorization = `Bearer ${this.endpoint.controlToken}`;
    const ws = new WebSocket(url, {
      headers,
      handshakeTimeout: this.timeoutMs,
      maxPayload: 1 << 20,
      ...(this.tls ? { ca: this.tls.ca } : {}),
    });
    return new Promise((resolve, reject) => {
      ws.once("open", () => {
        // Later failures end in a close event, which the console bridge handles; an error with no listener
        // would crash the process.
        ws.on("error", () => undefined);
        resolve(ws);
      });
      ws.once("unexpected-response", (_req, res) => {
        res.resume();
        res.on("end", () => {
          ws.terminate();
          const status = res.statusCode ?? 502;
          // A refused upgrade carries only its status (node-ws answers it without a body); the agent's own
          // audit log has the reason.
          reject(
            new HttpError(
              status >= 400 && status < 600 ? (status as 502) : 502,
              "AGENT_REFUSED",
              `host ${this.host}'s agent refused the console: ${status} ${res.statusMessage ?? ""}`.trim(),
            ),
          );
        });
      });
      ws.once("error", (e) => {
        reject(
          /timeout/i.test(e.message)
            ? new TimeoutError(`host ${this.host}'s agent console`, this.timeoutMs, { cause: e })
            : new HttpError(
                502,
                "AGENT_UNREACHABLE",
                `cannot open host ${this.host}'s console: ${e.message}`,
                { cause: e },
              ),
        );
      });
    });
  }
}

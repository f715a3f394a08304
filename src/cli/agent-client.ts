/**
 * The CLI's way to the local agent's HTTP API (reads and the control calls: exec, the tracer switch). The
 * agent's URL comes from `--agent` / KVMON_AGENT_URL (default http://127.0.0.1:9477), the control token from
 * `--control-token-file`, KVMON_CONTROL_TOKEN_FILE or KVMON_CONTROL_TOKEN (never a flag: `ps` would show it).
 * Every request has a deadline; the agent's JSON errors keep their code (LIBVIRT_NO_DOMAIN, FORBIDDEN, ...).
 */
import { readFileSync } from "node:fs";
import { STATUS_CODES } from "node:http";
import { DEFAULT_PORT } from "../agent/config.ts";
import { TimeoutError } from "../shared/errors.ts";
import { CliError } from "./errors.ts";

export const DEFAULT_AGENT_URL = `http://127.0.0.1:${DEFAULT_PORT}`;

export interface AgentFlags {
  agent?: string;
  "control-token-file"?: string;
}

/**
 * A token read from `file` when one is named, else `value` (an environment variable's); null when neither.
 * An unreadable file is a CliError with `code` and `hint`, naming the file as `what`.
 */
export function tokenFrom(
  file: string | undefined,
  value: string | undefined,
  failure: { what: string; code: string; hint: string },
): string | null {
  if (file === undefined) return value || null;
  try {
    return readFileSync(file, "utf8").trim();
  } catch (e) {
    throw new CliError(`cannot read ${failure.what} ${file}: ${(e as Error).message}`, {
      code: failure.code,
      hint: failure.hint,
      cause: e,
    });
  }
}

/** The control token from the flag's file, KVMON_CONTROL_TOKEN_FILE or KVMON_CONTROL_TOKEN; null when none. */
export function controlTokenFrom(flags: AgentFlags, env: NodeJS.ProcessEnv): string | null {
  return tokenFrom(flags["control-token-file"] ?? env.KVMON_CONTROL_TOKEN_FILE, env.KVMON_CONTROL_TOKEN, {
    what: "the control token file",
    code: "CONTROL_TOKEN",
    hint: "the file the agent's controlTokenFile names (run as a user who may read it)",
  });
}

/** No agent answers at the URL (refused, no route, ...); a deadline passed is a TimeoutError instead. */
export class AgentUnreachableError extends CliError {
  override name = "AgentUnreachableError";
  constructor(url: string, cause: unknown) {
    super(`cannot reach the agent at ${url}: ${(cause as Error)?.message ?? cause}`, {
      code: "AGENT_UNREACHABLE",
      hint: "start it with 'kvmon agent' (see 'kvmon agent --help'), or run as root with --local",
      cause,
    });
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; hint?: string };
}

/** A kvmon HTTP peer (the agent, the fleet server): its URL, bearer token and how errors name it. */
export interface JsonPeer {
  url: string;
  token: string | null;
  /** "the agent at http://...": the subject of error messages. */
  peer: string;
  /** AGENT or SERVER: the code of a reply without JSON is <kind>_PROTOCOL. */
  kind: "AGENT" | "SERVER";
  /** The error for a peer that cannot be reached (refused, no route, ...). */
  unreachable: (cause: unknown) => CliError;
  /** A hint for an error answer without one of its own (401/403 from the server: which token is needed). */
  statusHint?: (status: number) => string | undefined;
}

/**
 * One JSON call under a deadline: a TimeoutError when the peer does not answer in time, the peer's
 * unreachable error when it cannot be reached, and its error answers as CliErrors with its code and hint.
 */
export async function requestJson<T>(
  to: JsonPeer,
  call: { method: string; path: string; body?: unknown; timeoutMs: number },
): Promise<T> {
  const { method, path, body, timeoutMs } = call;
  let res: Response;
  try {
    res = await fetch(`${to.url}${path}`, {
      method,
      headers: {
        ...(to.token === null ? {} : { authorization: `Bearer ${to.token}` }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    if ((e as Error).name === "TimeoutError")
      throw new TimeoutError(`${method} ${path} on ${to.peer}`, timeoutMs, { cause: e });
    throw to.unreachable(e);
  }
  const text = await res.text();
  if (!res.ok) throw answerError(to, `${method} ${path}`, res.status, text);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw noJson(to, `${method} ${path}`, res.status, e);
  }
}

function noJson(to: JsonPeer, what: string, status: number, cause: unknown): CliError {
  return new CliError(`${what}: ${to.peer} answered ${status} with no JSON`, {
    code: `${to.kind}_PROTOCOL`,
    cause,
  });
}

/** The codes kvmon's peers answer these statuses with, for an answer that carries no body to say so. */
const STATUS_CODE_NAMES: Readonly<Record<number, string>> = {
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
};

/**
 * A peer's error answer (its JSON `{error: {code, message, hint}}`) as a CliError with its code and hint. An
 * empty one (a refused WebSocket upgrade: the server's WebSocket layer sends the status alone) gets the code its
 * status stands for.
 */
export function answerError(to: JsonPeer, what: string, status: number, text: string): CliError {
  if (text.trim() === "")
    return new CliError(
      `${what}: ${to.peer} refused it with ${status} ${STATUS_CODES[status] ?? ""}`.trim(),
      {
        code: STATUS_CODE_NAMES[status] ?? `HTTP_${status}`,
        hint: to.statusHint?.(status),
      },
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return noJson(to, what, status, e);
  }
  const err = (json as ErrorBody).error ?? {};
  return new CliError(err.message ?? `${what}: HTTP ${status}`, {
    code: err.code ?? `HTTP_${status}`,
    hint: err.hint ?? to.statusHint?.(status),
  });
}

export class AgentClient {
  readonly url: string;
  readonly token: string | null;
  /** The URL was asked for (flag or env): not reaching it is an error, not a reason to go direct. */
  readonly explicit: boolean;
  readonly timeoutMs: number;

  constructor(flags: AgentFlags, env: NodeJS.ProcessEnv = process.env, timeoutMs = 10_000) {
    const url = flags.agent ?? env.KVMON_AGENT_URL;
    this.explicit = url !== undefined;
    this.url = (url ?? DEFAULT_AGENT_URL).replace(/\/+$/, "");
    this.token = controlTokenFrom(flags, env);
    this.timeoutMs = timeoutMs;
  }

  /** Whether an agent answers at the URL (any HTTP answer from /healthz counts: it may still be starting). */
  async reachable(timeoutMs = 1500): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      return true;
    } catch {
      return false;
    }
  }

  /** One JSON call; the agent's error answers become CliErrors with the agent's code and hint. */
  request<T>(method: string, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    return requestJson<T>(
      {
        url: this.url,
        token: this.token,
        peer: `the agent at ${this.url}`,
        kind: "AGENT",
        unreachable: (cause) => new AgentUnreachableError(this.url, cause),
      },
      { method, path, body, timeoutMs },
    );
  }
}

/**
 * The CLI's way to the local agent's HTTP API (reads and the control calls: exec, the tracer switch). The
 * agent's URL comes from `--agent` / KVMON_AGENT_URL (default http://127.0.0.1:9477), the control token from
 * `--control-token-file`, KVMON_CONTROL_TOKEN_FILE or KVMON_CONTROL_TOKEN (never a flag: `ps` would show it).
 * Every request has a deadline; the agent's JSON errors keep their code (LIBVIRT_NO_DOMAIN, FORBIDDEN, ...).
 */
import { readFileSync } from "node:fs";
import { DEFAULT_PORT } from "../agent/config.ts";
import { TimeoutError } from "../shared/errors.ts";
import { CliError } from "./errors.ts";

export const DEFAULT_AGENT_URL = `http://127.0.0.1:${DEFAULT_PORT}`;

export interface AgentFlags {
  agent?: string;
  "control-token-file"?: string;
}

/** The control token from the flag's file, KVMON_CONTROL_TOKEN_FILE or KVMON_CONTROL_TOKEN; null when none. */
export function controlTokenFrom(flags: AgentFlags, env: NodeJS.ProcessEnv): string | null {
  const file = flags["control-token-file"] ?? env.KVMON_CONTROL_TOKEN_FILE;
  if (file !== undefined) {
    try {
      return readFileSync(file, "utf8").trim();
    } catch (e) {
      throw new CliError(`cannot read the control token file ${file}: ${(e as Error).message}`, {
        code: "CONTROL_TOKEN",
        hint: "the file the agent's controlTokenFile names (run as a user who may read it)",
        cause: e,
      });
    }
  }
  return env.KVMON_CONTROL_TOKEN || null;
}

interface ErrorBody {
  error?: { code?: string; message?: string; hint?: string };
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
  async request<T>(method: string, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          ...(this.token === null ? {} : { authorization: `Bearer ${this.token}` }),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      if ((e as Error).name === "TimeoutError")
        throw new TimeoutError(`${method} ${path} on the agent at ${this.url}`, timeoutMs, { cause: e });
      throw new CliError(`cannot reach the agent at ${this.url}: ${(e as Error).message}`, {
        code: "AGENT_UNREACHABLE",
        hint: "start it with 'kvmon agent' (see 'kvmon agent --help'), or run as root with --local",
        cause: e,
      });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new CliError(`${method} ${path}: the agent answered ${res.status} with no JSON`, {
        code: "AGENT_PROTOCOL",
        cause: e,
      });
    }
    if (!res.ok) {
      const err = (json as ErrorBody).error ?? {};
      throw new CliError(err.message ?? `${method} ${path}: HTTP ${res.status}`, {
        code: err.code ?? `HTTP_${res.status}`,
        hint: err.hint,
      });
    }
    return json as T;
  }
}

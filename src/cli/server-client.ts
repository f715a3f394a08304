/**
 * The CLI's way to the fleet server (`--server URL` / KVMON_SERVER_URL): its JSON API with a user API token
 * (`--token-file`, KVMON_TOKEN_FILE or KVMON_TOKEN; never a flag, `ps` would show it), and the VM named
 * `host/vm`, or `vm` when one host of the fleet has it. The server routes control calls to that host's agent
 * (src/server/api/control.ts), authorizes them by role and audits them.
 */
import { WebSocket } from "ws";
import { TimeoutError } from "../shared/errors.ts";
import { answerError, type JsonPeer, requestJson, tokenFrom } from "./agent-client.ts";
import { CliError } from "./errors.ts";
import { nearMatches } from "./near-matches.ts";

export interface ServerFlags {
  server?: string;
  "token-file"?: string;
}

/** A VM on one host of the fleet. */
export interface FleetVm {
  host: string;
  name: string;
}

/** The API token from the flag's file, KVMON_TOKEN_FILE or KVMON_TOKEN; null when none. */
export function apiTokenFrom(flags: ServerFlags, env: NodeJS.ProcessEnv): string | null {
  return tokenFrom(flags["token-file"] ?? env.KVMON_TOKEN_FILE, env.KVMON_TOKEN, {
    what: "the API token file",
    code: "API_TOKEN",
    hint: "a token from 'kvmon server token create --role operator --name NAME'",
  });
}

/**
 * The client of the server named by `url`, with the API token the flags or env give; without one, an error
 * saying how to make a token of `role` (viewer for reads, operator for control calls).
 */
export function serverWithToken(
  url: string,
  flags: ServerFlags,
  env: NodeJS.ProcessEnv,
  role: "viewer" | "operator",
): ServerClient {
  const token = apiTokenFrom(flags, env);
  if (token === null)
    throw new CliError(`the kvmon server at ${url} needs an API token for this`, {
      code: "API_TOKEN",
      hint: `give --token-file, KVMON_TOKEN_FILE or KVMON_TOKEN (a ${role} token: 'kvmon server token create --role ${role} --name NAME')`,
    });
  return new ServerClient(url, token);
}

/** What a 401 or 403 without a hint of its own means for the CLI's user. */
function statusHint(status: number): string | undefined {
  if (status === 401)
    return "give an API token with --token-file, KVMON_TOKEN_FILE or KVMON_TOKEN ('kvmon server token create --role operator --name NAME')";
  if (status === 403)
    return "exec, console, trace and audit need an operator (or admin) token; reads (top) a viewer one";
  return undefined;
}

export class ServerClient {
  readonly url: string;
  readonly timeoutMs: number;
  readonly #peer: JsonPeer;

  constructor(url: string, token: string | null, timeoutMs = 15_000) {
    this.url = url.replace(/\/+$/, "");
    this.timeoutMs = timeoutMs;
    this.#peer = {
      url: this.url,
      token,
      peer: `the kvmon server at ${this.url}`,
      kind: "SERVER",
      unreachable: (cause) =>
        new CliError(`cannot reach the kvmon server at ${this.url}: ${(cause as Error)?.message ?? cause}`, {
          code: "SERVER_UNREACHABLE",
          hint: "check the URL given to --server / KVMON_SERVER_URL and that 'kvmon server' runs there",
          cause,
        }),
      statusHint,
    };
  }

  get token(): string | null {
    return this.#peer.token;
  }

  /** One JSON call; the server's (and relayed agents') error answers become CliErrors with their code. */
  request<T>(method: string, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    return requestJson<T>(this.#peer, { method, path, body, timeoutMs });
  }

  /**
   * The VM's serial console WebSocket (binary frames both ways; the server bridges it to the host agent's),
   * open; a refusal (no token, a viewer's, an unknown VM, the agent's) is a CliError with the server's code.
   */
  openConsole(vm: FleetVm): Promise<WebSocket> {
    const url = new URL(`${this.url}${ServerClient.domainPath(vm)}/console`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const what = `GET ${url.pathname}`;
    const ws = new WebSocket(url, {
      headers: this.token === null ? {} : { authorization: `Bearer ${this.token}` },
      handshakeTimeout: this.timeoutMs,
      maxPayload: 1 << 20,
    });
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(ws));
      ws.once("unexpected-response", (_req, res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (t: string) => (text += t));
        res.on("end", () => {
          ws.terminate();
          reject(answerError(this.#peer, what, res.statusCode ?? 0, text));
        });
      });
      ws.once("error", (e) => {
        reject(
          /timeout/i.test(e.message)
            ? new TimeoutError(`${what} on the kvmon server`, this.timeoutMs, { cause: e })
            : this.#peer.unreachable(e),
        );
      });
    });
  }

  /** `/api/v1/domains/{host}/{name}`: the base of a VM's control routes. */
  static domainPath(vm: FleetVm): string {
    return `/api/v1/domains/${encodeURIComponent(vm.host)}/${encodeURIComponent(vm.name)}`;
  }

  /**
   * `host/vm` as given, or `vm` looked up across the fleet's latest snapshots: unique, else the candidates
   * with their hosts; unknown, the near matches across the fleet.
   */
  async resolve(given: string): Promise<FleetVm> {
    const slash = given.indexOf("/");
    if (slash > 0) return { host: given.slice(0, slash), name: given.slice(slash + 1) };
    const all = await this.request<{ domains: FleetVm[] }>("GET", "/api/v1/domains?limit=1000");
    return pickVm(given, all.domains);
  }
}

/** The fleet's one VM named `given`, or a CliError listing the candidates or near matches as host/vm. */
export function pickVm(given: string, domains: readonly FleetVm[]): FleetVm {
  const hits = domains.filter((d) => d.name === given);
  if (hits.length === 1) return { host: hits[0]!.host, name: given };
  const listed = (ds: readonly FleetVm[]) => ds.map((d) => `${d.host}/${d.name}`).join(", ");
  if (hits.length > 1)
    throw new CliError(`VM name '${given}' is on ${hits.length} hosts: ${listed(hits)}`, {
      code: "AMBIGUOUS_VM",
      hint: "name it as host/vm",
    });
  const near = new Set(
    nearMatches(
      given,
      domains.map((d) => d.name),
    ),
  );
  const close = domains.filter((d) => near.has(d.name));
  throw new CliError(
    `no VM named '${given}' in the fleet${close.length > 0 ? `; did you mean ${listed(close.slice(0, 5))}?` : ""}`,
    {
      code: "NO_DOMAIN",
      hint:
        domains.length === 0
          ? "the server has no snapshot with domains yet (do the agents push to it?)"
          : "the fleet's VMs: 'GET /api/v1/domains' (as host/vm)",
    },
  );
}

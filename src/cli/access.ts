/**
 * How a privileged command (console, exec, trace) reaches its target: through the fleet server when one is
 * named (--server / KVMON_SERVER_URL: it routes to the VM's host agent, authorizes by role and audits), else
 * through the local agent's control API when one answers and the control token is known (the agent audits),
 * otherwise directly as root: libvirt on a read-write connection, the tracer in-process, each use appended to
 * the agent's audit log by the CLI itself, in the format src/agent/control/audit.ts writes.
 */
import { userInfo } from "node:os";
import { Logger } from "../agent/log.ts";
import { AuditLog, type AuditRecord, DEFAULT_AUDIT_LOG } from "../agent/control/audit.ts";
import { type DomainRef, LibvirtClient, LibvirtError } from "../protocol/libvirt/index.ts";
import { AgentClient, type AgentFlags } from "./agent-client.ts";
import { CliError } from "./errors.ts";
import { unknownVmMessage } from "./near-matches.ts";
import { type ServerClient, type ServerFlags, serverWithToken } from "./server-client.ts";

/** The flags every privileged command takes, as parseArgs options, and their help lines. */
export const accessOptions = {
  server: { type: "string" },
  "token-file": { type: "string" },
  agent: { type: "string" },
  "control-token-file": { type: "string" },
  local: { type: "boolean" },
  uri: { type: "string" },
  "audit-log": { type: "string" },
} as const;

export const accessHelp = `
Fleet-wide (through the kvmon server, which routes to the VM's host agent; the VM as host/vm or a unique vm):
  --server <url>            the kvmon server                                    KVMON_SERVER_URL
  --token-file <f>          an API token with the operator role                 KVMON_TOKEN_FILE
                            (or the token itself in KVMON_TOKEN)
Local access (through the local agent when one runs and the control token is known, else direct as root):
  --agent <url>             the agent (default http://127.0.0.1:9477)           KVMON_AGENT_URL
  --control-token-file <f>  the agent's control token                           KVMON_CONTROL_TOKEN_FILE
                            (or the token itself in KVMON_CONTROL_TOKEN)
  --local                   never use the agent: libvirt / tracefs directly (root)
  --uri <uri>               libvirt URI when direct (default qemu:///system)    KVMON_URI
  --audit-log <file>        audit log when direct (default ${DEFAULT_AUDIT_LOG})
                                                                                KVMON_AUDIT_LOG`;

export type AccessFlags = AgentFlags & ServerFlags & { local?: boolean; uri?: string; "audit-log"?: string };

export const START_HINT =
  "start the agent with a control token ('kvmon agent --control-token-file <f>', see 'kvmon agent --help') " +
  "or run as root on the libvirt host with libvirtd running ('systemctl start libvirtd')";

export type Route =
  { kind: "server"; server: ServerClient } | { kind: "agent"; agent: AgentClient } | { kind: "direct" };

/**
 * Server, agent or direct. A server named by --server/KVMON_SERVER_URL is always used (with a token); an
 * agent named by --agent/KVMON_AGENT_URL must answer; the default one is used when it answers and a token is
 * known (without a token its control calls would be refused).
 */
export async function pickRoute(flags: AccessFlags, env: NodeJS.ProcessEnv = process.env): Promise<Route> {
  const serverUrl = flags.server ?? env.KVMON_SERVER_URL;
  if (serverUrl !== undefined && !flags.local)
    return { kind: "server", server: serverWithToken(serverUrl, flags, env, "operator") };
  if (flags.local) return { kind: "direct" };
  const agent = new AgentClient(flags, env);
  if (agent.explicit) {
    if (!(await agent.reachable()))
      throw new CliError(`no agent answers at ${agent.url}`, { code: "AGENT_UNREACHABLE", hint: START_HINT });
    if (agent.token === null)
      throw new CliError(`the agent at ${agent.url} needs its control token for this`, {
        code: "CONTROL_TOKEN",
        hint: "give --control-token-file, KVMON_CONTROL_TOKEN_FILE or KVMON_CONTROL_TOKEN (or --local as root)",
      });
    return { kind: "agent", agent };
  }
  if (agent.token !== null && (await agent.reachable())) return { kind: "agent", agent };
  return { kind: "direct" };
}

export function libvirtUri(flags: AccessFlags, env: NodeJS.ProcessEnv = process.env): string {
  return flags.uri ?? env.KVMON_URI ?? "qemu:///system";
}

/** A read-write libvirt connection, or a CliError saying how to get one. */
export async function openLibvirt(uri: string): Promise<LibvirtClient> {
  try {
    return await LibvirtClient.open(uri, { readOnly: false, connectTimeoutMs: 5000, callTimeoutMs: 15_000 });
  } catch (e) {
    const denied = /EACCES|EPERM|denied/i.test(String((e as Error).message));
    throw new CliError(`cannot open a read-write connection to libvirt at ${uri}: ${(e as Error).message}`, {
      code: "LIBVIRT_UNREACHABLE",
      hint: denied ? `this needs root (a read-write libvirt connection); or ${START_HINT}` : START_HINT,
      cause: e,
    });
  }
}

/** The domain by name; an unknown name lists the near matches. */
export async function findDomain(client: LibvirtClient, name: string): Promise<DomainRef> {
  try {
    return await client.lookupByName(name);
  } catch (e) {
    if (!(e instanceof LibvirtError) || !e.isNoDomain()) throw e;
    const names = (await client.listAllDomains()).map((d) => d.name);
    throw new CliError(unknownVmMessage(name, names), { code: e.code, cause: e });
  }
}

/** The agent's error for an unknown domain, turned into the same near-match message. */
export async function withVmSuggestions<T>(agent: AgentClient, vm: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof CliError) || !/NO_DOMAIN|TRACER_DOMAIN/.test(e.code)) throw e;
    const listed = await agent
      .request<{ domains: { name: string }[] }>("GET", "/api/v1/domains")
      .catch(() => null);
    const names = (listed?.domains ?? []).map((d) => d.name);
    if (names.includes(vm)) throw e;
    throw new CliError(unknownVmMessage(vm, names), { code: e.code, hint: e.hint, cause: e });
  }
}

type Audited = Omit<AuditRecord, "time" | "who" | "from" | "durationMs">;

/**
 * The audit log as the CLI writes it when it acts directly: opened before the action (a log that cannot be
 * written stops the command before it does anything), one record per use.
 */
export class CliAudit {
  readonly #log: AuditLog;
  readonly #started = performance.now();
  readonly #time = new Date().toISOString();

  private constructor(path: string) {
    this.#log = new AuditLog({ path, logger: new Logger(() => undefined) });
  }

  static async open(flags: AccessFlags, env: NodeJS.ProcessEnv = process.env): Promise<CliAudit> {
    const audit = new CliAudit(flags["audit-log"] ?? env.KVMON_AUDIT_LOG ?? DEFAULT_AUDIT_LOG);
    try {
      await audit.#log.open();
    } catch (e) {
      throw new CliError(`cannot write the audit log ${audit.#log.path}: ${(e as Error).message}`, {
        code: "AUDIT_LOG",
        hint: "this command is audited: run as root, or name a writable file with --audit-log",
        cause: e,
      });
    }
    return audit;
  }

  /**
   * Appends one record (who: the local user; from: "local"; time and durationMs: since open, or since
   * `startedAt` when one log records many uses, as the shell's).
   */
  async write(record: Audited, startedAt?: Date): Promise<void> {
    let who = "unix:unknown";
    try {
      who = `unix:${userInfo().username}`;
    } catch {
      who = `unix:uid ${process.getuid?.() ?? "?"}`;
    }
    await this.#log.write({
      time: startedAt?.toISOString() ?? this.#time,
      who,
      from: "local",
      ...record,
      durationMs:
        startedAt === undefined
          ? Math.round(performance.now() - this.#started)
          : Date.now() - startedAt.getTime(),
    });
  }

  close(): Promise<void> {
    return this.#log.close();
  }
}

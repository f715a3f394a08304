/**
 * `kvmon quickstart`: the fleet on this one host, in the foreground, as the README's first command leaves it:
 * `kvmon server` (embedded store, the dashboard) and `kvmon agent` (guest view and guest exec on, pushing to the
 * server, registered with it for control calls), with an admin token to log in with. Prints the dashboard URL,
 * the token, the agent's /metrics and how to stop; Ctrl-C (or SIGTERM) stops both and frees both ports.
 * Idempotent: a second run reuses the tokens and data (src/cli/quickstart/provision.ts).
 */
import { createServer } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { ApiClient } from "../../api/client.ts";
import { ENV_ONLY_KEYS, KEYS, parseListen } from "../../agent/config.ts";
import { ConfigError } from "../../agent/errors.ts";
import { NAME_PATTERN } from "../../server/auth/tokens.ts";
import { SERVER_KEYS } from "../../server/config.ts";
import type { CliIo, Command } from "../command.ts";
import { intFlag, parseCommandArgs } from "../command.ts";
import { CliError, UsageError } from "../errors.ts";
import { type Child, ChildGroup, logTail, untilHealthy } from "../quickstart/children.ts";
import { provision, quickstartPaths } from "../quickstart/provision.ts";
import { untilStopSignal } from "../signals.ts";

const DEFAULTS = {
  dataDir: "/var/lib/kvmon",
  listen: "0.0.0.0:9478",
  agentListen: "127.0.0.1:9477",
  interval: 10,
};
/** How long each child may take to answer /healthz, and the agent's first push to reach the server. */
const START_TIMEOUT_MS = 60_000;

const help = () =>
  `Usage: kvmon quickstart [options]

Runs the fleet on this host in the foreground: 'kvmon server' (embedded store, web dashboard) and 'kvmon
agent' (guest view and guest exec on) pushing to it and registered with it for control calls (trace, exec,
console). On the first run it makes an admin token (the dashboard's login), the agent's host and control
tokens, each in a 0600 file under DATA_DIR/quickstart; later runs reuse them. Prints the dashboard URL, the
login token and the agent's /metrics URL. Ctrl-C stops both. scripts/quickstart.sh runs it after the set-up
and the lab.

Options:
  --data-dir <dir>        data root, laid out as a real install (default ${DEFAULTS.dataDir}):
                          server/ (the server's data dir), agent/audit.log, spool/,
                          quickstart/ (tokens, the agent's config, both logs)
  --listen <host:port>    the server and dashboard (default ${DEFAULTS.listen})
  --agent-listen <h:p>    the agent (default ${DEFAULTS.agentListen})
  --interval <seconds>    the agent's collection and push interval (default ${DEFAULTS.interval})
`;

const options = {
  "data-dir": { type: "string" },
  listen: { type: "string" },
  "agent-listen": { type: "string" },
  interval: { type: "string" },
} as const;

/** The env variables of the agent's and server's own config: they must not override what the quick start sets. */
const CHILD_CONFIG_ENV = new Set<string>([
  "KVMON_CONFIG",
  "KVMON_SERVER_CONFIG",
  ...KEYS.map((k) => k.env),
  ...ENV_ONLY_KEYS.map((k) => k.env),
  ...SERVER_KEYS.map((k) => k.env),
]);

interface Address {
  host: string;
  port: number;
  /** `http://host:port` as a local process reaches it (127.0.0.1 for a wildcard address). */
  local: string;
}

function address(flag: string, value: string): Address {
  let host: string;
  let port: number;
  try {
    [host, port] = parseListen(value, `flag --${flag}`);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`quickstart: --${flag}: ${e.message}`, { cause: e });
    throw e;
  }
  if (port === 0) throw new UsageError(`quickstart: --${flag} needs a fixed port, not 0`);
  const wildcard = host === "0.0.0.0" || host === "::";
  return { host, port, local: `http://${wildcard ? "127.0.0.1" : urlHost(host)}:${port}` };
}

const urlHost = (h: string) => (h.includes(":") ? `[${h}]` : h);

/** Fails with the address and who to ask when something already listens there. */
async function assertFree(a: Address, what: string, flag: string): Promise<void> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.listen(a.port, a.host, resolve);
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`cannot start the ${what} on ${a.host}:${a.port}: ${code ?? (e as Error).message}`, {
      code: "QUICKSTART_PORT",
      hint:
        code === "EADDRINUSE"
          ? `something listens there (a quick start still running? 'ss -ltnp sport = :${a.port}' names it); stop it or choose another port with ${flag}`
          : `choose another address with ${flag}`,
      cause: e,
    });
  } finally {
    await new Promise((r) => probe.close(r));
  }
}

/** The dashboard URLs to print: every external IPv4 address for a wildcard listen, else the address itself. */
function dashboardUrls(a: Address): string[] {
  if (a.host !== "0.0.0.0" && a.host !== "::") return [`${a.local}/`];
  const external = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && i.family === "IPv4" && !i.internal)
    .map((i) => `http://${i!.address}:${a.port}/`);
  return [...external, `${a.local}/`];
}

/** Waits until the agent's first push of this run reached the server; returns the host's domain count. */
async function untilPushed(api: ApiClient, host: string, since: number, agent: Child, agentLog: string) {
  let ended: string | null = null;
  void agent.exited.then((how) => (ended = how));
  for (const deadline = Date.now() + START_TIMEOUT_MS; Date.now() < deadline; await sleep(500)) {
    if (ended !== null)
      throw new CliError(`the agent exited (${ended}) before its first push:\n${logTail(agentLog)}`, {
        code: "QUICKSTART_START",
        hint: `its whole log: ${agentLog}`,
      });
    const h = (await api.hosts().catch(() => ({ hosts: [] }))).hosts.find((x) => x.name === host);
    if (h?.lastPushAt != null && h.lastPushAt >= since) return h.domains;
  }
  throw new CliError(
    `the agent's first push did not reach the server within ${START_TIMEOUT_MS / 1000} s (it pushes after a collection; is libvirtd running?):\n${logTail(agentLog)}`,
    { code: "QUICKSTART_START", hint: `the agent's whole log: ${agentLog}` },
  );
}

function summary(io: CliIo, s: Record<string, string>, tokenLine: string): void {
  io.out(
    `
kvmon is running: agent + server + dashboard on host ${s.host}
  dashboard    ${s.urls}
  login token  ${tokenLine}
  agent        ${s.metrics}  (JSON: ${s.agent}/api/v1/domains)
  server       ${s.domains} domains of ${s.host} pushed; logs ${s.logs}
Ctrl-C stops the server and the agent (a lab keeps running; './bin/kvmon lab down' removes it).
`,
  );
}

export const quickstartCommand: Command = {
  name: "quickstart",
  summary: "run agent + server + dashboard on this host in the foreground, with a login token",
  help,
  handler: async (argv, io) => {
    const { values, positionals } = parseCommandArgs("quickstart", argv, options);
    if (positionals.length > 0) throw new UsageError(`quickstart: unexpected argument '${positionals[0]}'`);
    const server = address("listen", values.listen ?? DEFAULTS.listen);
    const agent = address("agent-listen", values["agent-listen"] ?? DEFAULTS.agentListen);
    const interval = intFlag("interval", values.interval, DEFAULTS.interval, 1, 3600);
    const host = hostname();
    if (!NAME_PATTERN.test(host))
      throw new CliError(`this host's name '${host}' cannot name a host token`, { code: "QUICKSTART_HOST" });
    await assertFree(server, "server", "--listen");
    await assertFree(agent, "agent", "--agent-listen");

    const paths = quickstartPaths(values["data-dir"] ?? DEFAULTS.dataDir);
    let provisioned: ReturnType<typeof provision>;
    try {
      provisioned = provision({
        paths,
        host,
        agentListen: `${urlHost(agent.host)}:${agent.port}`,
        agentUrl: agent.local,
        serverUrl: server.local,
        intervalSeconds: interval,
      });
    } catch (e) {
      if (!(e as NodeJS.ErrnoException).syscall) throw e; // not a file-system error
      throw new CliError(`cannot set up the data dir ${paths.root}: ${(e as Error).message}`, {
        code: "QUICKSTART_DATA_DIR",
        hint: "run it as root (the default is /var/lib/kvmon), or choose another with --data-dir",
        cause: e,
      });
    }
    const { adminToken, adminCreated } = provisioned;
    const since = Date.now();
    // Stopped in reverse order: the agent first, so its last push can still reach the server.
    const group = new ChildGroup((k) => CHILD_CONFIG_ENV.has(k));
    const stopped = untilStopSignal(() => group.stop());
    process.once("SIGHUP", () => void group.stop().then(() => process.exit(129)));
    try {
      const serverChild = group.start({
        what: "server",
        args: ["server", "--data-dir", paths.serverDir, "--listen", `${urlHost(server.host)}:${server.port}`],
        logFile: paths.serverLog,
      });
      await untilHealthy(serverChild, `${server.local}/healthz`, paths.serverLog, START_TIMEOUT_MS);
      const agentChild = group.start({
        what: "agent",
        args: ["agent", "--config", paths.agentConfig],
        // As bin/kvmon runs the agent: V8's memory reducer costs it a third of its CPU (docs/agent.md).
        nodeFlags: ["--no-memory-reducer"],
        logFile: paths.agentLog,
      });
      await untilHealthy(agentChild, `${agent.local}/healthz`, paths.agentLog, START_TIMEOUT_MS);
      const api = new ApiClient({ baseUrl: server.local, token: adminToken });
      await api.session();
      const domains = await untilPushed(api, host, since, agentChild, paths.agentLog);
      summary(
        io,
        {
          host,
          urls: dashboardUrls(server).join("  "),
          metrics: `${agent.local}/metrics`,
          agent: agent.local,
          domains: String(domains),
          logs: `${paths.serverLog}, ${paths.agentLog}`,
        },
        // The secret goes to the terminal; into a log (stdout not a terminal) only on the run that made it.
        adminCreated || process.stdout.isTTY
          ? `${adminToken}  (admin; kept in ${paths.adminToken})`
          : `in ${paths.adminToken} (admin; printed on the run that made it)`,
      );
    } catch (e) {
      if (group.stopping) {
        await stopped; // a signal while starting: not a failure to report
        io.err("kvmon quickstart: stopped while starting\n");
        return 1;
      }
      await group.stop();
      throw e;
    }
    const crash = await Promise.race([
      stopped.then(() => null),
      group.firstExit().then(async ({ child, how }) => {
        if (group.stopping) return stopped.then(() => null); // stopped on a signal: not a crash
        await group.stop();
        return new CliError(`the ${child.what} exited (${how}); the other was stopped`, {
          code: "QUICKSTART_CHILD_EXIT",
          hint: `its log: ${child.what === "server" ? paths.serverLog : paths.agentLog}`,
        });
      }),
    ]);
    if (crash) throw crash;
    io.err("kvmon quickstart: server and agent stopped\n");
    return 0;
  },
};

/**
 * `kvmon agent`: the per-host agent. Collects every domain's stats from libvirt each interval and serves them
 * on /metrics (Prometheus) and /api/v1 (JSON). Options come from a JSON file, KVMON_* env and flags (flags
 * win); see docs/agent.md.
 */

import { KEYS, loadConfig } from "../../agent/config.ts";
import { ConfigError } from "../../agent/errors.ts";
import { LibvirtSource } from "../../agent/libvirt-source.ts";
import { startAgent } from "../../agent/server.ts";
import { collectors } from "../../collectors/registry.ts";
import type { Command } from "../command.ts";
import { parseCommandArgs } from "../command.ts";
import { CliError, UsageError } from "../errors.ts";
import { untilStopSignal } from "../signals.ts";

const help = () =>
  `Usage: kvmon agent [options]

Runs the host agent: one bulk libvirt stats call per interval for all domains, served as Prometheus metrics
on /metrics and as JSON on /api/v1/host, /api/v1/domains, /api/v1/domains/<name>; health on /healthz.
With a control token and --guest-exec / --guest-passthrough it also runs commands in guests (audited).

Options (each also settable as a key in the --config file and as the env variable shown):
  --config <file>           JSON config file                                   KVMON_CONFIG
  --listen <host:port>      address to serve on (default 0.0.0.0:9477)         KVMON_LISTEN
  --interval <seconds>      collection interval, at least 1 (default 10)       KVMON_INTERVAL
  --timeout <seconds>       deadline of each libvirt call, at most the interval
                            (default min(5, 0.8 x interval))                   KVMON_TIMEOUT
  --uri <uri>               libvirt URI (default qemu:///system)               KVMON_URI
  --read-only <true|false>  read-only libvirt connection (default true)        KVMON_READ_ONLY
  --collectors <list>       collectors to run: a list ("state,cpu") or changes
                            to the defaults ("+kvm,-block")                    KVMON_COLLECTORS
  --log-level <level>       debug, info, warn or error (default info)          KVMON_LOG_LEVEL
  --proc-root <dir>         procfs root, for uptime (default /proc)            KVMON_PROC_ROOT
  --libvirt-run-dir <dir>   libvirt QEMU pid files (default /run/libvirt/qemu) KVMON_LIBVIRT_RUN_DIR
  --guest <true|false>      guest view through each guest's agent, on a second
                            read-write connection (default false)              KVMON_GUEST

Control API (POST /api/v1/domains/<name>/exec and /agent-command; off without a token):
  --control-token-file <f>  file with the control token, mode 0600 (the token
                            itself: key controlToken or env)                   KVMON_CONTROL_TOKEN_FILE
                                                                               KVMON_CONTROL_TOKEN
  --audit-log <file>        audit log of control calls, 0600, rotated by size
                            (default /var/lib/kvmon/agent/audit.log)           KVMON_AUDIT_LOG
  --guest-exec <true|false> allow running commands in guests (needs --guest;
                            default false)                                     KVMON_GUEST_EXEC
  --guest-passthrough <true|false>
                            allow any guest-agent command (needs --guest;
                            default false)                                     KVMON_GUEST_PASSTHROUGH
  --push <urls>             remote_write URLs to push samples to, comma-
                            separated (spooled on disk; config file: push[]
                            for tokens, kvmon servers, TLS, spool bounds)      KVMON_PUSH
  --tls-cert <file>         serve HTTPS with this PEM certificate (with
                            --tls-key; the console WebSocket becomes wss)      KVMON_TLS_CERT
  --tls-key <file>          the certificate's PEM private key                  KVMON_TLS_KEY
                            for tokens, kvmon servers, spool bounds)           KVMON_PUSH
  --host-name <name>        the host name the agent reports (default the
                            machine's)                                         KVMON_HOST_NAME
  --host-uuid <uuid>        the host UUID it reports (default DMI, else
                            machine-id)                                        KVMON_HOST_UUID
  -h, --help                this help

Collectors (default on unless marked):
${collectors.map((c) => `  ${c.name.padEnd(10)} ${c.description}${c.defaultEnabled ? "" : " (off by default)"}`).join("\n")}

Logs are JSON lines on stderr. Stop with SIGINT or SIGTERM.
`;

const options = {
  config: { type: "string" },
  ...Object.fromEntries(KEYS.map((k) => [k.flag, { type: "string" }])),
} as Record<string, { type: "string" }>;

export const agentCommand: Command = {
  name: "agent",
  summary: "run the host agent: all domains' stats as Prometheus metrics and JSON",
  help,
  handler: async (argv, io) => {
    const { values, positionals } = parseCommandArgs("agent", argv, options);
    if (positionals.length > 0) throw new UsageError(`agent: unexpected argument '${positionals[0]}'`);
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig({ flags: values as Record<string, string | undefined>, env: process.env });
    } catch (e) {
      if (e instanceof ConfigError)
        throw new CliError(e.message, { code: e.code, hint: "see 'kvmon agent --help'", cause: e });
      throw e;
    }
    const source = new LibvirtSource({
      uri: config.uri,
      readOnly: config.readOnly,
      callTimeoutMs: config.timeoutSeconds * 1000,
      connectTimeoutMs: Math.max(1000, config.timeoutSeconds * 1000),
    });
    let running: Awaited<ReturnType<typeof startAgent>>;
    try {
      running = await startAgent(config, source, (line) => io.err(line));
    } catch (e) {
      await source.close();
      const err = e as NodeJS.ErrnoException;
      if (err.code === "EADDRINUSE" || err.code === "EACCES") {
        throw new CliError(`cannot listen on ${config.listenHost}:${config.listenPort}: ${err.message}`, {
          code: "AGENT_LISTEN",
          hint: "choose another address with --listen or KVMON_LISTEN",
          cause: e,
        });
      }
      throw e;
    }
    await untilStopSignal(() => running.stop());
    return 0;
  },
};

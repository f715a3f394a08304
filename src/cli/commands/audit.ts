/**
 * `kvmon audit [vm...]`: every disk's cache and io mode as the definitions state it and as QEMU really runs it
 * (command line, open flags, optionally QMP query-block), with findings by severity; see src/audit and
 * docs/cli.md. Exit 3 when --fail-on is given and a finding at or above it exists.
 */
import { type AuditOptions, auditDomains } from "../../audit/audit.ts";
import { CACHE_MODES } from "../../model/cache-modes.ts";
import { type DomainAudit, SEVERITIES, type Severity } from "../../audit/types.ts";
import { type DomainRef, LibvirtClient } from "../../protocol/libvirt/index.ts";
import { colors, colorsEnabled } from "../colors.ts";
import type { CliIo, Command } from "../command.ts";
import { parseCommandArgs } from "../command.ts";
import { CliError, UsageError } from "../errors.ts";
import { nearMatches } from "../near-matches.ts";
import { serverWithToken } from "../server-client.ts";
import { fleetAudits, fleetTargets } from "./audit-fleet.ts";
import { hasFindingAtLeast, renderReport, severityCounts } from "./audit-report.ts";

/** Exit code when --fail-on matched (1 is a failure to audit, 2 bad usage). */
export const EXIT_FINDINGS = 3;

const help = () =>
  `Usage: kvmon audit [vm...] [options]
       kvmon audit --server <url> [host/vm | vm | host/ ...] [options]

Audits every disk's cache and io mode (all domains, or the ones named): the persistent definition (what the
next boot uses), the live one, what QEMU really runs with (the -blockdev cache/aio options on its command line,
and the flags it holds each image open with: O_DIRECT, O_DSYNC from /proc/<pid>/fdinfo), and the average
read/write/flush latency over a short window. Findings come with a severity and what they mean for the data.

Options:
  --json                    the audit as JSON (domains, disks, findings, summary)
  --qmp                     also ask QEMU with QMP query-block through libvirt's monitor passthrough
                            (sends only {"execute":"query-block"}, but libvirt then marks the domain
                            tainted, "custom-monitor", in its log and XML; needs a read-write connection)
  --fail-on <severity>      exit ${EXIT_FINDINGS} when a finding at or above info, warning or critical exists
                            (default: the exit code does not depend on findings)
  --window <seconds>        latency measuring window, 0 to skip (default 2)
  --uri <uri>               libvirt URI (default qemu:///system, or KVMON_URI)
  --server <url>            fleet-wide through the kvmon server (KVMON_SERVER_URL): each domain's host
                            agent audits it; no name: every domain of the fleet, host/: all of a host's
  --token-file <f>          an API token with the operator role (KVMON_TOKEN_FILE, or KVMON_TOKEN)
  -h, --help                this help

Runs on the domains' host, as root: the command line and open flags are read from the QEMU process (with
--server, the host's agent does that; each entry of --json then also names its host).

Cache modes (libvirt <driver cache=...>):
${CACHE_MODES.map((m) => `  ${m.name.padEnd(12)} ${m.meaning}`).join("\n")}
  default      no mode in the definition: QEMU uses writeback

Examples:
  kvmon audit                          every domain, readable report
  kvmon audit web1 db1 --window 5      two domains, latency over 5 s
  kvmon audit --fail-on critical       for cron/CI: exit ${EXIT_FINDINGS} if any disk risks data loss
  kvmon audit --json | jq '.domains[].disks[] | {target, mode: .effective.mode}'
  kvmon audit db1 --qmp                cross-check with QEMU's query-block (taints db1)
  kvmon audit --server https://kvmon:9478 host3/   every domain of host3, through the server
`;

const options = {
  json: { type: "boolean" },
  qmp: { type: "boolean" },
  "fail-on": { type: "string" },
  window: { type: "string" },
  uri: { type: "string" },
  server: { type: "string" },
  "token-file": { type: "string" },
} as const;

function windowMs(value: string | undefined): number {
  if (value === undefined) return 2000;
  const s = Number(value.replace(/s$/, ""));
  if (!Number.isFinite(s) || s < 0 || s > 600) {
    throw new UsageError(`audit: --window must be seconds from 0 to 600, got '${value}'`);
  }
  return Math.round(s * 1000);
}

function failOn(value: string | undefined): Severity | null {
  if (value === undefined) return null;
  if (!(SEVERITIES as readonly string[]).includes(value)) {
    throw new UsageError(`audit: --fail-on must be one of ${SEVERITIES.join(", ")}, got '${value}'`);
  }
  return value as Severity;
}

/** The named domains (all when none is named); an unknown name fails with the names close to it. */
export function selectDomains(all: readonly DomainRef[], names: readonly string[]): DomainRef[] {
  if (names.length === 0) return [...all].sort((a, b) => a.name.localeCompare(b.name));
  return names.map((name) => {
    const found = all.find((d) => d.name === name);
    if (found) return found;
    const near = nearMatches(
      name,
      all.map((d) => d.name),
    );
    throw new CliError(
      `no domain named '${name}'${near.length > 0 ? `; did you mean ${near.join(", ")}?` : ""}`,
      {
        code: "CLI_NO_DOMAIN",
        hint: `the domains here: ${
          all
            .map((d) => d.name)
            .sort()
            .join(", ") || "none"
        }`,
      },
    );
  });
}

async function connect(uri: string, readOnly: boolean): Promise<LibvirtClient> {
  try {
    return await LibvirtClient.open(uri, { readOnly, callTimeoutMs: 15_000, connectTimeoutMs: 5_000 });
  } catch (e) {
    throw new CliError(`cannot reach libvirt at ${uri}: ${(e as Error).message}`, {
      code: "CLI_NO_LIBVIRT",
      hint: "start libvirtd on this host (the lab: 'kvmon lab up'), or name another one with --uri",
      cause: e,
    });
  }
}

/** This host's domains (the named ones, or all), audited through libvirt and /proc here. */
async function directAudits(
  uri: string,
  names: readonly string[],
  opts: AuditOptions,
): Promise<DomainAudit[]> {
  const client = await connect(uri, !opts.qmp);
  try {
    return await auditDomains(client, selectDomains(await client.listAllDomains(), names), opts);
  } finally {
    await client.close();
  }
}

/** Progress on stderr: one line rewritten in place on a terminal, plain lines otherwise. */
function progress(io: CliIo, tty: boolean) {
  let shown = false;
  return {
    show: (text: string) => {
      shown = true;
      io.err(tty ? `\r\x1b[2Kaudit: ${text} ...` : `audit: ${text} ...\n`);
    },
    done: () => {
      if (shown && tty) io.err("\r\x1b[2K");
    },
  };
}

export const auditCommand: Command = {
  name: "audit",
  summary: "audit every disk's cache/io mode: definitions vs what QEMU really runs with",
  help,
  handler: async (argv, io) => {
    const { values, positionals } = parseCommandArgs("audit", argv, options);
    const threshold = failOn(values["fail-on"]);
    const window = windowMs(values.window);
    const qmp = values.qmp ?? false;
    const serverUrl = values.server ?? process.env.KVMON_SERVER_URL;
    if (serverUrl !== undefined && values.uri !== undefined)
      throw new UsageError("audit: --uri is for direct access, not --server");
    const status = progress(io, process.stderr.isTTY === true);
    const opts = { qmp, windowMs: window, onProgress: status.show };
    let audits: Array<DomainAudit & { host?: string }>;
    try {
      if (serverUrl !== undefined) {
        const server = serverWithToken(serverUrl, values, process.env, "operator");
        audits = await fleetAudits(server, await fleetTargets(server, positionals), opts);
      } else {
        audits = await directAudits(
          values.uri ?? process.env.KVMON_URI ?? "qemu:///system",
          positionals,
          opts,
        );
      }
    } finally {
      status.done();
    }
    if (values.json) {
      io.out(
        `${JSON.stringify(
          { qmp, windowSeconds: window / 1000, summary: severityCounts(audits), domains: audits },
          null,
          2,
        )}\n`,
      );
    } else {
      // A fleet's domains are named host/vm in the report.
      const named = audits.map((a) => (a.host === undefined ? a : { ...a, name: `${a.host}/${a.name}` }));
      io.out(renderReport(named, { qmp, colors: colors(colorsEnabled(process.stdout)) }));
    }
    return threshold !== null && hasFindingAtLeast(audits, threshold) ? EXIT_FINDINGS : 0;
  },
};

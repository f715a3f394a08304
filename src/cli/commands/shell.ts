/**
 * `kvmon shell`: the monitor prompt (src/cli/shell/monitor.ts) over the fleet view, with commands in guests
 * through the agent's control API (with its token) or, without an agent, directly through libvirt (root).
 */
import { DEFAULT_AUDIT_LOG } from "../../agent/control/audit.ts";
import { AgentClient } from "../agent-client.ts";
import type { Command } from "../command.ts";
import { intFlag, parseCommandArgs } from "../command.ts";
import { CliError, UsageError } from "../errors.ts";
import { AgentGuestRunner, DirectGuestRunner, type GuestRunner } from "../shell/guest-runner.ts";
import { MonitorShell } from "../shell/monitor.ts";
import { delayFlag, VIEW_FLAGS_HELP, viewFlags } from "../top/options.ts";
import { openViewSource, viewTarget } from "../view/open.ts";
import type { ViewSource } from "../view/types.ts";

const help = () => `Usage: kvmon shell [options]

A monitor prompt for the host's VMs. 'enter <vm>' sends every following line to that VM (run there with
sh -c through its guest agent, output and non-zero exit codes shown, the prompt names the VM) until 'leave'.
'monitor-all' prints every VM's network (per interface), memory and CPU (total and per vCPU) every few
seconds until a key is pressed. 'list' shows the VMs; every kvmon command (top, ...) runs by its name.
History with the arrow keys, Tab completes commands and VM names, Ctrl-D leaves.

Entering a VM is privileged and audited: through an agent it needs the agent's control token (and the agent
started with --guest true --guest-exec true; the agent writes the audit log); without an agent it needs root
and each command is appended to the audit log file (--audit-log).

Options:
  --control-token-file <f> the agent's control token (env KVMON_CONTROL_TOKEN_FILE, or the token itself in
                          KVMON_CONTROL_TOKEN)
  --audit-log <file>      audit log when no agent runs (env KVMON_AUDIT_LOG; default ${DEFAULT_AUDIT_LOG})
  --timeout <seconds>     deadline of each command run in a VM (default 30)
  -d, --delay <seconds>   monitor-all's refresh interval (default 3)
${VIEW_FLAGS_HELP}
  -h, --help              this help

Examples:
  kvmon shell
  kvmon> list
  kvmon> enter kvmon-lab-1
  kvmon(kvmon-lab-1)> uname -a; cat /proc/loadavg
  kvmon(kvmon-lab-1)> leave
  kvmon> monitor-all
  kvmon> top -o mem
  KVMON_CONTROL_TOKEN_FILE=/etc/kvmon/token kvmon shell --agent http://10.0.0.5:9477
`;

const options = {
  "control-token-file": { type: "string" },
  "audit-log": { type: "string" },
  timeout: { type: "string" },
  delay: { type: "string", short: "d" },
  ...viewFlags,
} as const;

/** Opened once, on first use: a shell that only runs `top` never connects twice. */
function once<T>(open: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => {
    p ??= open();
    p.catch(() => {
      p = null; // a failed open is tried again on the next use
    });
    return p;
  };
}

export const shellCommand: Command = {
  name: "shell",
  summary: "monitor prompt: list, enter a VM and run commands there, monitor-all, every kvmon command",
  help,
  handler: async (argv, io) => {
    const { values, positionals } = parseCommandArgs("shell", argv, options);
    if (positionals.length > 0) throw new UsageError(`shell: unexpected argument '${positionals[0]}'`);
    const timeoutSeconds = intFlag("timeout", values.timeout, 30, 1, 3600);
    const intervalMs = delayFlag(values.delay, 3) * 1000;
    const target = viewTarget(values, process.env, intervalMs);
    // What was opened on the way, closed at the end.
    const opened: { view?: ViewSource; runner?: GuestRunner } = {};
    const view = once(async () => (opened.view = await openViewSource(target)));
    const runner = once(async () => {
      const v = await view();
      if (v.kind === "agent") {
        const agent = new AgentClient({
          agent: v.origin,
          "control-token-file": values["control-token-file"],
        });
        if (agent.token === null)
          throw new CliError("entering a VM through the agent needs its control token", {
            code: "CONTROL_TOKEN",
            hint: "give it with --control-token-file <file> or KVMON_CONTROL_TOKEN_FILE / KVMON_CONTROL_TOKEN",
          });
        return (opened.runner = new AgentGuestRunner(agent, { timeoutSeconds }));
      }
      return (opened.runner = await DirectGuestRunner.open(target.uri, values, process.env, {
        timeoutSeconds,
      }));
    });
    // Imported here, not at the top: the registry imports this module.
    const { commands } = await import("../registry.ts");
    const { run, reportError } = await import("../run.ts");
    const inside = commands.filter((c) => c.name !== "shell");
    const shell = new MonitorShell({
      input: process.stdin,
      output: process.stdout,
      io,
      view,
      runner,
      runCommand: (words) => run(words, io, inside),
      commandNames: inside.map((c) => c.name),
      showError: (e) => reportError(e, io),
      monitorIntervalMs: intervalMs,
    });
    try {
      return await shell.run();
    } finally {
      await opened.runner?.close();
      await opened.view?.close();
    }
  },
};

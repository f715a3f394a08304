/**
 * How `kvmon shell` runs a line in a VM: `sh -c <line>` through the guest agent, either through the running
 * agent's control API (POST /api/v1/domains/<name>/exec with the control token; the agent writes the audit
 * record) or, with no agent, directly over a read-write libvirt connection (root only), each call appended to
 * the audit log as exec/console/trace append theirs (access.ts's CliAudit).
 */
import { type ControlChannels, openControlChannels } from "../../agent/control/guest-channel.ts";
import { guestExec } from "../../agent/control/guest-exec.ts";
import type { GuestExecResult } from "../../model/control.ts";
import { KvmonError } from "../../shared/errors.ts";
import { type AccessFlags, CliAudit } from "../access.ts";
import type { AgentClient } from "../agent-client.ts";
import { CliError } from "../errors.ts";

export interface GuestRunner {
  /** Where the commands go, for the banner: "agent <url>" or "libvirt <uri> (direct)". */
  readonly via: string;
  run(vm: string, line: string): Promise<GuestExecResult>;
  close(): Promise<void>;
}

export interface RunnerOptions {
  /** Whole-command deadline, seconds. */
  timeoutSeconds: number;
}

/** The command line a shell line becomes in the guest. */
export const shArgs = (line: string) => ({ path: "/bin/sh", args: ["-c", line] });

export class AgentGuestRunner implements GuestRunner {
  readonly via: string;
  private readonly agent: AgentClient;
  private readonly opts: RunnerOptions;

  /** `agent` carries the control token. */
  constructor(agent: AgentClient, opts: RunnerOptions) {
    this.agent = agent;
    this.opts = opts;
    this.via = `agent ${agent.url}`;
  }

  run(vm: string, line: string): Promise<GuestExecResult> {
    const body = { ...shArgs(line), timeout: this.opts.timeoutSeconds };
    return this.agent.request<GuestExecResult>(
      "POST",
      `/api/v1/domains/${encodeURIComponent(vm)}/exec`,
      body,
      (this.opts.timeoutSeconds + 10) * 1000,
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export class DirectGuestRunner implements GuestRunner {
  readonly via: string;
  private readonly channels: ControlChannels;
  private readonly audit: CliAudit;
  private readonly opts: RunnerOptions;

  private constructor(uri: string, audit: CliAudit, opts: RunnerOptions) {
    this.via = `libvirt ${uri} (direct)`;
    this.channels = openControlChannels(uri, 5000);
    this.audit = audit;
    this.opts = opts;
  }

  /**
   * Root only (the read-write libvirt socket and the guest's agent are root's); opens the audit log
   * (--audit-log, KVMON_AUDIT_LOG or the agent's) first.
   */
  static async open(
    uri: string,
    flags: AccessFlags,
    env: NodeJS.ProcessEnv,
    opts: RunnerOptions,
  ): Promise<DirectGuestRunner> {
    if (process.getuid?.() !== 0) {
      throw new CliError("running commands in a VM without an agent needs root", {
        code: "NOT_PRIVILEGED",
        hint: "run as root, or start 'kvmon agent' with a control token and --guest-exec true and give the token (--control-token-file / KVMON_CONTROL_TOKEN)",
      });
    }
    return new DirectGuestRunner(uri, await CliAudit.open(flags, env), opts);
  }

  async run(vm: string, line: string): Promise<GuestExecResult> {
    const started = new Date();
    const req = shArgs(line);
    const record: Parameters<CliAudit["write"]>[0] = {
      action: "exec",
      guest: vm,
      what: { ...req, timeout: this.opts.timeoutSeconds },
      outcome: "ok",
      // No HTTP on this path.
      status: 0,
    };
    try {
      const channel = await this.channels.channel(vm);
      const result = await guestExec(channel, { ...req, timeoutMs: this.opts.timeoutSeconds * 1000 });
      record.exitCode = result.exitCode;
      return result;
    } catch (e) {
      record.outcome = "error";
      record.code = e instanceof KvmonError ? e.code : "INTERNAL";
      throw e;
    } finally {
      await this.audit.write(record, started);
    }
  }

  async close(): Promise<void> {
    await this.channels.close();
    await this.audit.close();
  }
}

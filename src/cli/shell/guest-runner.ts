/**
 * How `kvmon shell` runs a line in a VM: `sh -c <line>` through the guest agent, either through the running
 * agent's control API (POST /api/v1/domains/<name>/exec with the control token; the agent writes the audit
 * record) or, with no agent, directly over a read-write libvirt connection (root only), each call appended to
 * an audit log in the agent's format (src/agent/control/audit.ts).
 */
import { userInfo } from "node:os";
import { AuditLog, type AuditRecord } from "../../agent/control/audit.ts";
import { type ControlChannels, openControlChannels } from "../../agent/control/guest-channel.ts";
import { type GuestExecResult, guestExec } from "../../agent/control/guest-exec.ts";
import { Logger } from "../../agent/log.ts";
import { KvmonError } from "../../shared/errors.ts";
import { CliError } from "../errors.ts";
import type { AgentClient } from "../agent-client.ts";

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
  private readonly audit: AuditLog;
  private readonly opts: RunnerOptions;
  private readonly who: string;

  private constructor(uri: string, audit: AuditLog, opts: RunnerOptions) {
    this.via = `libvirt ${uri} (direct)`;
    this.channels = openControlChannels(uri, 5000);
    this.audit = audit;
    this.opts = opts;
    this.who = `unix:${userInfo().username}`;
  }

  /** Root only (the read-write libvirt socket and the guest's agent are root's); opens the audit log first. */
  static async open(uri: string, auditPath: string, opts: RunnerOptions): Promise<DirectGuestRunner> {
    if (process.getuid?.() !== 0) {
      throw new CliError("running commands in a VM without an agent needs root", {
        code: "NOT_PRIVILEGED",
        hint: "run as root, or start 'kvmon agent' with a control token and --guest-exec true and give the token (--control-token-file / KVMON_CONTROL_TOKEN)",
      });
    }
    const audit = new AuditLog({ path: auditPath, logger: new Logger(() => {}, "error") });
    await audit.open();
    return new DirectGuestRunner(uri, audit, opts);
  }

  async run(vm: string, line: string): Promise<GuestExecResult> {
    const started = Date.now();
    const req = shArgs(line);
    const record: AuditRecord = {
      time: new Date(started).toISOString(),
      who: this.who,
      from: "local",
      action: "exec",
      guest: vm,
      what: { ...req, timeout: this.opts.timeoutSeconds },
      outcome: "ok",
      // No HTTP on this path.
      status: 0,
      durationMs: 0,
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
      record.durationMs = Date.now() - started;
      await this.audit.write(record);
    }
  }

  async close(): Promise<void> {
    await this.channels.close();
    await this.audit.close();
  }
}

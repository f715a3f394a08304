/**
 * `kvmon exec <vm> -- <cmd> [args]`: runs a program in the guest through its guest agent (guest-exec), writes
 * its stdout and stderr bytes unchanged to our stdout and stderr, and exits with its exit code (128 + N when a
 * signal ended it, 124 when it outlived --timeout). stdin is passed through when it is not a terminal. Through
 * the fleet server (--server: its exec route, to the VM's host agent), the local agent's control API when one
 * runs (it audits), else directly on libvirt as root, audited here; all run src/agent/control/guest-exec.ts's
 * guestExec().
 */
import type { Readable, Writable } from "node:stream";
import { guestExec } from "../../agent/control/guest-exec.ts";
import {
  auditedExec,
  type ExecBody,
  type GuestExecResult,
  MAX_BODY_BYTES,
  MAX_EXEC_TIMEOUT,
  MAX_OUTPUT_BYTES,
} from "../../model/control.ts";
import { QgaClient, QgaLibvirtTransport } from "../../protocol/qga/index.ts";
import { KvmonError } from "../../shared/errors.ts";
import {
  type AccessFlags,
  accessHelp,
  accessOptions,
  CliAudit,
  findDomain,
  libvirtUri,
  openLibvirt,
  pickRoute,
  withVmSuggestions,
} from "../access.ts";
import type { AgentClient } from "../agent-client.ts";
import { ServerClient } from "../server-client.ts";
import { type CliIo, type Command, parseCommandArgs } from "../command.ts";
import { durationFlag, format } from "../duration.ts";
import { CliError, UsageError } from "../errors.ts";
import { EXIT_SIGNALS, type ExitSignal, trapExitSignals } from "../terminal.ts";

/** stdin passed to the guest at most: it travels base64 in one JSON body of at most MAX_BODY_BYTES. */
export const MAX_STDIN_BYTES = Math.floor(((MAX_BODY_BYTES - 64 * 1024) * 3) / 4);
/** Exit status when the program outlived --timeout (as timeout(1)). */
export const TIMEOUT_STATUS = 124;

const help = () =>
  `Usage: kvmon exec <vm> [options] -- <command> [args...]

Runs <command> in the guest through its QEMU guest agent and waits for it. Its stdout and stderr are written
unchanged to this command's stdout and stderr (after it ends: the guest agent hands output over at exit), and
kvmon exits with its exit code: 128 + N when signal N ended it, ${TIMEOUT_STATUS} when it still ran at --timeout (it is
then killed in the guest). When stdin is not a terminal it is passed to the command (at most
${Math.floor(MAX_STDIN_BYTES / 1024)} KiB); --no-stdin sends none. Needs the guest agent in the guest. Privileged: root or the
agent's control token (the agent must allow it: guestExec); every use goes to the audit log.

Options:
  --timeout <duration>      how long the command may run (default 30s, at most ${MAX_EXEC_TIMEOUT / 60}m)
  --no-stdin                do not pass stdin
  --json                    print the whole result as JSON (exit code, output as text and base64)
${accessHelp}
  -h, --help                this help

Examples:
  kvmon exec web-1 -- uname -a
  kvmon exec web-1 --timeout 2m -- sh -c 'apt-get -y upgrade'
  tar c etc-backup | kvmon exec web-1 -- tar x -C /srv
  kvmon exec web-1 --json -- cat /proc/loadavg | jq -r .stdout.text
  KVMON_TOKEN_FILE=~/.kvmon-token kvmon exec --server https://kvmon:9478 host-3/web-1 -- uptime
`;

const options = {
  ...accessOptions,
  timeout: { type: "string" },
  "no-stdin": { type: "boolean" },
  json: { type: "boolean" },
} as const;

/** kvmon exec was ended by a signal while the guest command ran (it may still run in the guest). */
export class ExecInterruptedError extends CliError {
  override name = "ExecInterruptedError";
  readonly signal: ExitSignal;
  constructor(signal: ExitSignal) {
    super(`interrupted by ${signal} while the command ran; it may still run in the guest`, {
      code: "INTERRUPTED",
    });
    this.signal = signal;
  }
}

/** The exit status for a guest program's result. */
export function exitStatus(r: Pick<GuestExecResult, "exitCode" | "signal" | "timedOut">): number {
  if (r.timedOut) return TIMEOUT_STATUS;
  if (r.exitCode !== null) return r.exitCode;
  return r.signal !== null ? 128 + r.signal : 1;
}

/** `<vm> [options] -- <command...>`: the options before `--`, the command after it (or the positionals). */
export function parseExecArgs(argv: string[]) {
  const dashes = argv.indexOf("--");
  const { values, positionals } = parseCommandArgs(
    "exec",
    dashes < 0 ? argv : argv.slice(0, dashes),
    options,
  );
  const [vm, ...rest] = positionals;
  const command = dashes < 0 ? rest : [...rest, ...argv.slice(dashes + 1)];
  if (vm === undefined) throw new UsageError("exec: name the VM: kvmon exec <vm> -- <command> [args]");
  if (command.length === 0) throw new UsageError("exec: name the command to run after '--'");
  const timeoutMs = durationFlag("timeout", values.timeout, 30_000, {
    minMs: 1000,
    maxMs: MAX_EXEC_TIMEOUT * 1000,
  });
  return { vm, command: command as [string, ...string[]], timeoutMs, flags: values };
}

async function readInput(stdin: Readable & { isTTY?: boolean }, skip: boolean): Promise<Buffer | undefined> {
  if (skip || stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_STDIN_BYTES)
      throw new CliError(`stdin is larger than ${MAX_STDIN_BYTES} bytes`, {
        code: "EXEC_INPUT_TOO_LARGE",
        hint: "copy large files another way (scp, a shared disk), or pass --no-stdin",
      });
    chunks.push(chunk);
  }
  return size === 0 ? undefined : Buffer.concat(chunks);
}

export interface ExecStreams {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export async function runExec(argv: string[], io: CliIo, streams: ExecStreams): Promise<number> {
  const { vm, command, timeoutMs, flags } = parseExecArgs(argv);
  const input = await readInput(streams.stdin, flags["no-stdin"] === true);
  const body: ExecBody = {
    path: command[0],
    args: command.slice(1),
    ...(input === undefined ? {} : { input: input.toString("base64") }),
    inputEncoding: "base64",
    timeout: timeoutMs / 1000,
    captureOutput: true,
    maxOutputBytes: MAX_OUTPUT_BYTES,
  };
  const route = await pickRoute(flags, streams.env);
  let result: GuestExecResult;
  try {
    result =
      route.kind === "server"
        ? await viaServer(route.server, vm, body)
        : route.kind === "agent"
          ? await viaAgent(route.agent, vm, body)
          : await direct(flags, streams.env, vm, body, input);
  } catch (e) {
    if (!(e instanceof ExecInterruptedError)) throw e;
    io.err(`kvmon: [${e.code}] ${e.message}\n`);
    return EXIT_SIGNALS[e.signal];
  }
  if (flags.json) {
    io.out(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    streams.stdout.write(Buffer.from(result.stdout.base64, "base64"));
    streams.stderr.write(Buffer.from(result.stderr.base64, "base64"));
  }
  if (result.truncated) io.err(`kvmon: output cut at ${MAX_OUTPUT_BYTES} bytes per stream\n`);
  if (result.timedOut)
    io.err(
      `kvmon: [TIMEOUT] '${command.join(" ")}' in ${vm} still ran after ${format(timeoutMs)}; ` +
        `${result.killed ? "killed" : "it may still run (not killed)"}\n`,
    );
  return exitStatus(result);
}

function viaAgent(agent: AgentClient, vm: string, body: ExecBody): Promise<GuestExecResult> {
  return withVmSuggestions(agent, vm, () =>
    agent.request<GuestExecResult>(
      "POST",
      `/api/v1/domains/${encodeURIComponent(vm)}/exec`,
      body,
      body.timeout * 1000 + 15_000,
    ),
  );
}

/** Through the fleet server's exec route (operator role; the server and the host's agent audit). */
async function viaServer(server: ServerClient, vm: string, body: ExecBody): Promise<GuestExecResult> {
  const target = await server.resolve(vm);
  return server.request<GuestExecResult>(
    "POST",
    `${ServerClient.domainPath(target)}/exec`,
    body,
    body.timeout * 1000 + 30_000,
  );
}

async function direct(
  flags: AccessFlags,
  env: NodeJS.ProcessEnv,
  vm: string,
  body: ExecBody,
  input: Buffer | undefined,
): Promise<GuestExecResult> {
  const audit = await CliAudit.open(flags, env);
  let client: Awaited<ReturnType<typeof openLibvirt>> | undefined;
  let result: GuestExecResult | undefined;
  let failure: unknown;
  try {
    client = await openLibvirt(libvirtUri(flags, env));
    const libvirt = client;
    const domain = await findDomain(client, vm);
    const qga = new QgaClient(
      new QgaLibvirtTransport(
        { qemuAgentCommand: (d, cmd, t) => libvirt.qemuAgentCommand(d, cmd, t) },
        domain,
      ),
    );
    const running = guestExec(
      { qga },
      {
        path: body.path,
        args: body.args,
        input,
        maxOutputBytes: body.maxOutputBytes,
        timeoutMs: body.timeout * 1000,
      },
      { killOnTimeout: true },
    );
    running.catch(() => undefined); // after an interrupt its polls fail on the closed connection: nobody waits
    // Ctrl-C must not skip the audit record: the signal ends the wait, the finally below still writes it.
    let release = () => {};
    const interrupted = new Promise<never>((_, reject) => {
      release = trapExitSignals((signal) => reject(new ExecInterruptedError(signal)));
    });
    try {
      result = await Promise.race([running, interrupted]);
    } finally {
      release();
    }
    return result;
  } catch (e) {
    failure = e;
    throw e;
  } finally {
    await client?.close();
    await audit.write({
      action: "exec",
      guest: vm,
      what: auditedExec(body),
      outcome: failure === undefined ? "ok" : "error",
      status: 0,
      ...(failure === undefined ? {} : { code: failure instanceof KvmonError ? failure.code : "INTERNAL" }),
      ...(result ? { exitCode: result.exitCode } : {}),
    });
    await audit.close();
  }
}

export const execCommand: Command = {
  name: "exec",
  summary: "run a command in a guest through its guest agent, with its output and exit code",
  help,
  handler: (argv, io) =>
    runExec(argv, io, {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
    }),
};

/**
 * `kvmon console <vm>`: the VM's serial console through libvirt's console stream (DOMAIN_OPEN_CONSOLE), like
 * `virsh console`: keys go to the guest unprocessed (raw mode), the guest's output to the terminal, Ctrl-]
 * leaves. The terminal is restored on every way out (Ctrl-], the guest or libvirt ending the stream, an error,
 * SIGTERM/SIGHUP/SIGINT). Direct (root, a read-write connection; each session is written to the audit log
 * before any key reaches the guest), or fleet-wide through the kvmon server's console WebSocket (--server: it
 * bridges to the host agent's, and both audit the session); the same pump serves both.
 */
import { on } from "node:events";
import type { Readable, Writable } from "node:stream";
import type { WebSocket } from "ws";
import { type LibvirtStream, LibvirtError } from "../../protocol/libvirt/index.ts";
import { KvmonError } from "../../shared/errors.ts";
import { type AccessFlags, CliAudit, findDomain, libvirtUri, openLibvirt } from "../access.ts";
import { type ServerClient, serverWithToken } from "../server-client.ts";
import { type CliIo, type Command, parseCommandArgs } from "../command.ts";
import { CliError, UsageError } from "../errors.ts";
import {
  EXIT_SIGNALS,
  type ExitSignal,
  type SignalHub,
  TerminalSession,
  trapExitSignals,
} from "../terminal.ts";
import { DEFAULT_AUDIT_LOG } from "../../agent/control/audit.ts";

/** Ctrl-]: the byte that leaves the console (virsh's default escape). */
export const ESCAPE = 0x1d;

const help = () =>
  `Usage: kvmon console <vm> [options]

Attaches this terminal to the VM's serial console (libvirt's console stream, as 'virsh console'). Keys go to
the guest as typed (raw mode: Ctrl-C, Ctrl-D and Ctrl-Z are the guest's); Ctrl-] leaves and puts the terminal
back as it was. The terminal is also restored when the guest or libvirt ends the stream and on
SIGTERM/SIGHUP/SIGINT.

A serial console has no window size: the guest does not learn this terminal's rows and columns (set them in
the guest, e.g. 'stty rows 50 cols 160', or use ssh for full-screen programs). libvirt lets one client hold a
console at a time: when another holds it, kvmon says so (libvirt's error) and --force takes it over.

Privileged: root (a read-write libvirt connection); each session is appended to the audit log first.
Fleet-wide (--server): the VM as host/vm (or a name unique in the fleet), an operator token; the server and
the host's agent audit the session, and the agent takes the console over from any other client.

Options:
  --force                   take the console over from the client that holds it
  --devname <name>          another console or serial device (e.g. serial1; default the first console)
  --uri <uri>               libvirt URI (default qemu:///system)                KVMON_URI
  --audit-log <file>        audit log (default ${DEFAULT_AUDIT_LOG})   KVMON_AUDIT_LOG
  --server <url>            through the kvmon server                             KVMON_SERVER_URL
  --token-file <f>          an API token with the operator role                 KVMON_TOKEN_FILE
                            (or the token itself in KVMON_TOKEN)
  -h, --help                this help

Examples:
  kvmon console web-1            press Enter for the guest's prompt; Ctrl-] to leave
  kvmon console web-1 --force    take it over from a 'virsh console' left open elsewhere
  kvmon console --server https://kvmon:9478 host3/web-1
`;

const options = {
  server: { type: "string" },
  "token-file": { type: "string" },
  force: { type: "boolean" },
  devname: { type: "string" },
  uri: { type: "string" },
  "audit-log": { type: "string" },
} as const;

export interface ConsoleStreams {
  stdin: Readable & { isTTY?: boolean; isRaw?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  signals?: SignalHub;
}

/** How a console session ended. */
export type ConsoleEnd =
  | { kind: "escape" }
  | { kind: "input-closed" }
  | { kind: "stream-closed" }
  | { kind: "signal"; signal: ExitSignal }
  | { kind: "error"; error: unknown };

/** The bytes typed before the escape byte, and whether it came (the rest of the chunk is dropped). */
export function splitAtEscape(chunk: Buffer): { forward: Buffer; escaped: boolean } {
  const at = chunk.indexOf(ESCAPE);
  return at < 0 ? { forward: chunk, escaped: false } : { forward: chunk.subarray(0, at), escaped: true };
}

/** What a session pumps: the guest's output, and the way keys go to it (a libvirt stream, a WebSocket). */
export interface ConsoleChannel extends AsyncIterable<Uint8Array> {
  write(bytes: Uint8Array): void;
}

/** The server's console WebSocket as a channel: its messages until it closes. */
export function socketChannel(ws: WebSocket): ConsoleChannel {
  return {
    write: (bytes) => ws.send(bytes),
    async *[Symbol.asyncIterator]() {
      for await (const [data] of on(ws, "message", { close: ["close"] })) yield data as Buffer;
    },
  };
}

/** Pumps keys to the stream and the stream to the terminal until one of the ends above. */
export async function pump(stream: ConsoleChannel, s: ConsoleStreams): Promise<ConsoleEnd> {
  return new Promise<ConsoleEnd>((resolve) => {
    let done = false;
    const finish = (end: ConsoleEnd) => {
      if (done) return;
      done = true;
      release();
      s.stdin.off("data", onKey);
      s.stdin.off("end", onInputEnd);
      s.stdin.pause();
      terminal.restore();
      resolve(end);
    };
    const terminal = new TerminalSession({
      input: s.stdin,
      output: s.stdout,
      raw: true,
      hub: s.signals,
    }).enter();
    const release = trapExitSignals((signal) => finish({ kind: "signal", signal }), s.signals);
    const onKey = (chunk: Buffer) => {
      const { forward, escaped } = splitAtEscape(chunk);
      try {
        if (forward.length > 0) stream.write(forward);
      } catch (error) {
        finish({ kind: "error", error });
        return;
      }
      if (escaped) finish({ kind: "escape" });
    };
    const onInputEnd = () => finish({ kind: "input-closed" });
    s.stdin.on("data", onKey);
    s.stdin.on("end", onInputEnd);
    s.stdin.resume();
    void (async () => {
      try {
        for await (const chunk of stream) {
          if (done) return;
          s.stdout.write(chunk);
        }
        finish({ kind: "stream-closed" });
      } catch (error) {
        finish({ kind: "error", error });
      }
    })();
  });
}

/** Ends our side of the stream: finish (the server confirms), abort when it does not within 2 s. */
async function close(stream: LibvirtStream): Promise<void> {
  if (stream.closed) return;
  const timer = setTimeout(() => stream.abort(), 2000);
  try {
    await stream.finish();
  } catch {
    // aborted or the connection is gone: the stream is over either way
  } finally {
    clearTimeout(timer);
  }
}

function consoleError(e: unknown, vm: string): unknown {
  if (e instanceof LibvirtError && /active console session|console.*in use|busy/i.test(e.message))
    return new CliError(`the console of '${vm}' is held by another client: ${e.message}`, {
      code: e.code,
      hint: "close the other console (virsh console, another kvmon console), or take it over with --force",
      cause: e,
    });
  return e;
}

/** Attaches the terminal to an open channel until the session ends; how it ended. */
async function attach(channel: ConsoleChannel, vm: string, io: CliIo, s: ConsoleStreams) {
  io.err(`Connected to ${vm} (serial console). Escape character is ^] (Ctrl-]).\r\n`);
  const end = await pump(channel, s);
  io.err("\r\n");
  return end;
}

/** The exit code of a session's end (an error is thrown, a libvirt one saying what it means here). */
function exitCode(end: ConsoleEnd, vm: string, io: CliIo): number {
  switch (end.kind) {
    case "escape":
    case "input-closed":
      return 0;
    case "stream-closed":
      io.err(`kvmon: the console of '${vm}' ended (guest stopped, or taken over with --force)\n`);
      return 1;
    case "signal":
      return EXIT_SIGNALS[end.signal];
    case "error":
      if (end.error instanceof LibvirtError)
        throw new CliError(`the console of '${vm}' ended: ${end.error.message}`, {
          code: end.error.code,
          hint: "another client took it over (--force), or the guest stopped",
          cause: end.error,
        });
      throw end.error;
  }
}

/** Through the server: its console WebSocket (the server and the host's agent audit the session). */
async function viaServer(server: ServerClient, given: string, io: CliIo, s: ConsoleStreams) {
  const vm = await server.resolve(given);
  const ws = await server.openConsole(vm);
  try {
    return exitCode(await attach(socketChannel(ws), `${vm.host}/${vm.name}`, io, s), given, io);
  } finally {
    ws.close(1000, "kvmon console ended");
  }
}

export async function runConsole(argv: string[], io: CliIo, s: ConsoleStreams): Promise<number> {
  const { values, positionals } = parseCommandArgs("console", argv, options);
  if (positionals.length !== 1) throw new UsageError("console: name exactly one VM: kvmon console <vm>");
  const vm = positionals[0]!;
  const serverUrl = values.server ?? s.env.KVMON_SERVER_URL;
  if (serverUrl !== undefined) {
    if (values.devname !== undefined || values.uri !== undefined || values["audit-log"] !== undefined)
      throw new UsageError("console: --devname, --uri and --audit-log are for direct access, not --server");
    return viaServer(serverWithToken(serverUrl, values, s.env, "operator"), vm, io, s);
  }
  const flags: AccessFlags = values;
  const audit = await CliAudit.open(flags, s.env);
  let client: Awaited<ReturnType<typeof openLibvirt>> | undefined;
  try {
    client = await openLibvirt(libvirtUri(flags, s.env));
    let stream: LibvirtStream;
    const what = { devname: values.devname ?? null, force: values.force === true };
    try {
      const domain = await findDomain(client, vm);
      stream = await client.openConsole(domain, { devName: values.devname, force: values.force });
    } catch (e) {
      const err = consoleError(e, vm);
      await audit.write({
        action: "console",
        guest: vm,
        what,
        outcome: "error",
        status: 0,
        code: err instanceof KvmonError ? err.code : "INTERNAL",
      });
      throw err;
    }
    await audit.write({ action: "console", guest: vm, what, outcome: "ok", status: 0 });
    const end = await attach(stream, vm, io, s);
    await close(stream);
    return exitCode(end, vm, io);
  } finally {
    await client?.close();
    await audit.close();
  }
}

export const consoleCommand: Command = {
  name: "console",
  summary: "attach to a VM's serial console (Ctrl-] leaves)",
  help,
  handler: (argv, io) =>
    runConsole(argv, io, { stdin: process.stdin, stdout: process.stdout, env: process.env }),
};

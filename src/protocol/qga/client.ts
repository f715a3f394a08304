/**
 * QgaClient: typed guest-agent commands over any QgaTransport. One call at a time (the agent is serial; a
 * second call waits for the first), a deadline on every call, every reply decoded by the codec and validated
 * against the command's schema. Above the raw commands: exec (guest-exec + polling of guest-exec-status) and
 * readFile (guest-file-open/read/close).
 *
 * @example
 *   const agent = new QgaClient(new QgaLibvirtTransport(libvirtClient, dom));
 *   const { exitcode, stdout } = await agent.exec(["/bin/cat", "/proc/loadavg"]);
 */
import { setTimeout as sleep } from "node:timers/promises";
import { TimeoutError } from "../../shared/errors.ts";
import { decodeReply } from "./codec.ts";
import { type ExecStatus, type QgaCommand, QgaCommands } from "./commands.ts";
import { QgaCommandError, QgaProtocolError } from "./errors.ts";
import type { QgaTransport } from "./transport.ts";

export interface QgaClientOptions {
  /** Default per-call deadline. Default 5 s (libvirt's default for agent commands). */
  timeoutMs?: number;
}

export interface ExecOptions {
  /** Written to the program's stdin. */
  input?: string | Buffer;
  /** Whole-run deadline, polling included. Default 60 s. */
  timeoutMs?: number;
  /** Longest pause between guest-exec-status polls (they start at 10 ms and double). Default 500 ms. */
  maxPollMs?: number;
}

export interface ExecResult {
  /** The exit code; 128 + signal when killed by a signal (as a shell reports it). */
  exitcode: number;
  /** Set when the process was killed by a signal. */
  signal?: number;
  stdout: string;
  stderr: string;
  /** Set (true) when the agent cut the output at its cap (16 MiB per stream in qemu-ga 7.2). */
  truncated?: true;
}

export class QgaClient {
  readonly transport: QgaTransport;
  private readonly timeoutMs: number;
  /** The end of the queue of calls: each call starts when the previous one settled. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(transport: QgaTransport, opts: QgaClientOptions = {}) {
    this.transport = transport;
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  /** Runs one declared command; resolves with its validated return value. */
  call<A, R>(command: QgaCommand<A, R>, args: A, opts: { timeoutMs?: number } = {}): Promise<R> {
    const run = async () => {
      const line = await this.transport.request(
        command.name,
        args as object | undefined,
        opts.timeoutMs ?? this.timeoutMs,
      );
      const parsed = command.returns.safeParse(decodeReply(line, command.name));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid";
        throw new QgaProtocolError(`reply does not match the schema at ${where}`, {
          command: command.name,
          cause: parsed.error,
        });
      }
      return parsed.data;
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** guest-ping: resolves when the agent answers. */
  async ping(opts: { timeoutMs?: number } = {}): Promise<void> {
    await this.call(QgaCommands.ping, undefined, opts);
  }

  /** guest-info: the agent's version and the commands it offers (enabled or not). */
  info(opts: { timeoutMs?: number } = {}) {
    return this.call(QgaCommands.info, undefined, opts);
  }

  /**
   * Runs `argv` in the guest (guest-exec, output captured) and polls guest-exec-status until it exits. A
   * program still running at the deadline is a TimeoutError; it keeps running in the guest (qemu-ga 7.2 has
   * no kill command), so bound long programs in the guest too (e.g. with `timeout`).
   */
  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [path, ...arg] = argv;
    if (!path) throw new QgaCommandError("guest-exec", "no program given");
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const deadline = performance.now() + timeoutMs;
    const input =
      opts.input === undefined ? {} : { "input-data": Buffer.from(opts.input).toString("base64") };
    const { pid } = await this.call(QgaCommands.exec, { path, arg, "capture-output": true, ...input });
    let pause = 10;
    for (;;) {
      const status = await this.call(QgaCommands.execStatus, { pid });
      if (status.exited) return execResult(status);
      if (performance.now() + pause > deadline)
        throw new TimeoutError(`guest-exec '${argv.join(" ")}' (guest pid ${pid})`, timeoutMs);
      await sleep(pause);
      pause = Math.min(pause * 2, opts.maxPollMs ?? 500);
    }
  }

  /** Reads a whole guest file (guest-file-open/read/close), at most `maxBytes` (default 1 MiB). */
  async readFile(path: string, opts: { maxBytes?: number; chunkBytes?: number } = {}): Promise<Buffer> {
    const maxBytes = opts.maxBytes ?? 1024 * 1024;
    const count = Math.min(opts.chunkBytes ?? 64 * 1024, maxBytes);
    const handle = await this.call(QgaCommands.fileOpen, { path, mode: "r" });
    try {
      const parts: Buffer[] = [];
      let size = 0;
      for (;;) {
        const r = await this.call(QgaCommands.fileRead, { handle, count });
        const buf = Buffer.from(r["buf-b64"], "base64");
        size += buf.length;
        if (size > maxBytes)
          throw new QgaProtocolError(`${path} is larger than ${maxBytes} bytes`, {
            command: "guest-file-read",
          });
        parts.push(buf);
        if (r.eof || buf.length === 0) return Buffer.concat(parts, size);
      }
    } finally {
      await this.call(QgaCommands.fileClose, { handle });
    }
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

/** A finished guest-exec-status reply as an ExecResult (base64 output decoded). */
export function execResult(status: ExecStatus): ExecResult {
  const decode = (b64: string | undefined) => (b64 ? Buffer.from(b64, "base64").toString("utf8") : "");
  const result: ExecResult = {
    exitcode: status.exitcode ?? (status.signal !== undefined ? 128 + status.signal : -1),
    stdout: decode(status["out-data"]),
    stderr: decode(status["err-data"]),
  };
  if (status.signal !== undefined) result.signal = status.signal;
  if (status["out-truncated"] === true || status["err-truncated"] === true) result.truncated = true;
  return result;
}

/**
 * The guest agent over a unix socket, without libvirt: QEMU's `-chardev socket,path=...` behind a
 * `virtserialport` named org.qemu.guest_agent.0, or `qemu-ga -m unix-listen -p <path>` on a host.
 * - connects on first use, and again on the next call after the socket closed (agent restarted, QEMU gone);
 * - resynchronises with guest-sync-delimited (a fresh random id) after every connect and after every timeout,
 *   so a late reply to an abandoned call is never taken for the answer to the next one;
 * - one deadline per call covers connect, resync and reply;
 * - memory is bounded whatever the agent sends (LineReader), and lines arriving while no call waits are
 *   dropped.
 */
import { createConnection, type Socket } from "node:net";
import { TimeoutError } from "../../shared/errors.ts";
import { encodeCommand, encodeSync, type Frame, LineReader, randomSyncId } from "./codec.ts";
import { QgaUnavailableError } from "./errors.ts";
import { parseJson } from "./json.ts";
import type { QgaTransport } from "./transport.ts";

export interface QgaSocketOptions {
  /** Cap on one reply line (default: codec's DEFAULT_MAX_LINE_BYTES). */
  maxLineBytes?: number;
}

/** The call in flight: frames are handed to it; a timeout or a closed socket fails it. */
interface ActiveCall {
  frames: Frame[];
  wake: (() => void) | null;
  failed: Error | null;
}

export class QgaSocketTransport implements QgaTransport {
  readonly description: string;
  private readonly path: string;
  private readonly maxLineBytes: number | undefined;
  private socket: Socket | null = null;
  private reader: LineReader;
  private synced = false;
  private active: ActiveCall | null = null;
  private closed = false;

  constructor(path: string, opts: QgaSocketOptions = {}) {
    this.path = path;
    this.description = path;
    this.maxLineBytes = opts.maxLineBytes;
    this.reader = new LineReader(opts.maxLineBytes);
  }

  async request(execute: string, args: object | undefined, timeoutMs: number): Promise<string> {
    if (this.closed) throw new QgaUnavailableError(`guest agent at ${this.path}: transport closed`);
    const call: ActiveCall = { frames: [], wake: null, failed: null };
    this.active = call;
    const timer = setTimeout(() => {
      // The agent may still answer: resync before the next call so that answer is discarded.
      this.synced = false;
      this.fail(call, new TimeoutError(`guest agent ${execute} at ${this.path}`, timeoutMs));
    }, timeoutMs);
    try {
      if (!this.socket) await this.connect(call);
      if (!this.synced) await this.resync(call);
      this.write(encodeCommand(execute, args));
      for (;;) {
        const f = await this.nextFrame(call);
        if (f.type === "line") return f.text;
        if (f.type === "error") throw f.error;
        // A stray 0xFF outside a resync carries no reply: keep waiting.
      }
    } finally {
      clearTimeout(timer);
      if (this.active === call) this.active = null;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.active)
      this.fail(this.active, new QgaUnavailableError(`guest agent at ${this.path}: transport closed`));
    const s = this.socket;
    this.socket = null;
    if (s && !s.destroyed) {
      const gone = new Promise((resolve) => s.once("close", resolve));
      s.destroy();
      await gone;
    }
  }

  private connect(call: ActiveCall): Promise<void> {
    const socket = createConnection(this.path);
    this.socket = socket;
    this.synced = false;
    this.reader = new LineReader(this.maxLineBytes);
    socket.on("data", (chunk: Buffer) => this.onData(socket, chunk));
    socket.on("error", () => {
      // Reported through 'close' (which always follows), as QgaUnavailableError.
    });
    return new Promise<void>((resolve, reject) => {
      const onConnect = () => {
        socket.off("close", onEarlyClose);
        socket.on("close", () => this.onClose(socket, undefined));
        resolve();
      };
      const onEarlyClose = () => {
        socket.off("connect", onConnect);
        if (this.socket === socket) this.socket = null;
        reject(new QgaUnavailableError(`cannot connect to the guest agent at ${this.path}`));
      };
      socket.once("connect", onConnect);
      socket.once("close", onEarlyClose);
      call.wake = () => {
        // Timed out (or closed) while connecting: drop the half-open socket.
        if (call.failed) {
          socket.destroy();
          reject(call.failed);
        }
      };
    }).finally(() => {
      call.wake = null;
    });
  }

  /** 0xFF + guest-sync-delimited(id): skip everything up to the agent's 0xFF, then lines until `{"return": id}`. */
  private async resync(call: ActiveCall): Promise<void> {
    const id = randomSyncId();
    this.reader.awaitDelimiter();
    call.frames.length = 0;
    this.write(encodeSync(id));
    let delimited = false;
    for (;;) {
      const f = await this.nextFrame(call);
      if (f.type === "delimiter") delimited = true;
      else if (delimited && f.type === "line" && isReturnOf(f.text, id)) break;
    }
    this.synced = true;
  }

  private nextFrame(call: ActiveCall): Promise<Frame> {
    return new Promise<Frame>((resolve, reject) => {
      const take = () => {
        if (call.failed) {
          reject(call.failed);
          return true;
        }
        const f = call.frames.shift();
        if (f === undefined) return false;
        resolve(f);
        return true;
      };
      if (take()) return;
      call.wake = () => {
        if (take()) call.wake = null;
      };
    });
  }

  private fail(call: ActiveCall, error: Error): void {
    if (call.failed) return;
    call.failed = error;
    call.wake?.();
  }

  private write(bytes: Buffer): void {
    const s = this.socket;
    if (!s || s.destroyed) throw new QgaUnavailableError(`guest agent at ${this.path}: socket closed`);
    s.write(bytes);
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    // Always through the reader (it keeps the line state); frames nobody waits for are late or unsolicited.
    const frames = this.reader.push(chunk);
    const call = this.active;
    if (!call || call.failed) return;
    call.frames.push(...frames);
    call.wake?.();
  }

  private onClose(socket: Socket, error: Error | undefined): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.synced = false;
    if (this.active)
      this.fail(
        this.active,
        new QgaUnavailableError(`guest agent at ${this.path} closed the connection`, { cause: error }),
      );
  }
}

/** Whether `line` is `{"return": id}` (anything unparsable is not). */
function isReturnOf(line: string, id: number): boolean {
  try {
    const v = parseJson(line);
    return typeof v === "object" && v !== null && !Array.isArray(v) && v.return === id;
  } catch {
    return false;
  }
}

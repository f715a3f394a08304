/**
 * Transport: the only I/O the client does, behind a small interface so tests plug in an in-memory fake.
 * Bytes come in through `handlers.data`, the end through `handlers.close` (once, with the error if any).
 * Implementations: unix socket, TCP, TLS (libvirt's default PKI paths, overridable).
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { ConnectionClosedError, TimeoutError } from "./errors.ts";

export interface TransportHandlers {
  /**
   * Bytes received. `chunk` is only valid during the call: it may be a view of a buffer the transport reuses
   * for its next read (the unix and TCP transports do), so a handler must consume it or copy what it keeps.
   */
  data(chunk: Buffer): void;
  close(error?: Error): void;
}

export interface Transport {
  /** Human-readable peer, e.g. "unix:/var/run/libvirt/libvirt-sock". */
  readonly description: string;
  /** Starts delivering bytes; called once by the dispatcher. */
  start(handlers: TransportHandlers): void;
  write(buf: Buffer): void;
  /** Closes the connection; `handlers.close` fires, then the promise resolves (handle released). Idempotent. */
  close(): Promise<void>;
}

/** Size of the buffer a unix/TCP transport reads into (reused for every read; node's own default size). */
export const READ_BUFFER_SIZE = 64 * 1024;

/**
 * node:net's `onread`: every read lands in one preallocated buffer and goes straight to our callback. This
 * skips, per read, libuv's 64 KiB allocation and its shrink, the Buffer wrapping it, and the Readable
 * stream machinery ('data' emit, push/addChunk, maybeReadMore's nextTick): the part of a call's CPU that
 * was the socket layer and not the protocol. The chunk handed on is a view of that buffer (see
 * TransportHandlers.data); bytes read before start() (there are none while paused, but to be sure) are copied.
 */
export class ReadIntoBuffer {
  readonly buffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
  private sink: ((chunk: Buffer) => void) | null = null;
  private early: Buffer[] = [];

  readonly callback = (nread: number, buf: Buffer): boolean => {
    const chunk = buf.subarray(0, nread);
    if (this.sink !== null) this.sink(chunk);
    else this.early.push(Buffer.from(chunk));
    return true;
  };

  attach(sink: (chunk: Buffer) => void): void {
    this.sink = sink;
    const early = this.early;
    this.early = [];
    for (const c of early) sink(c);
  }
}

/** Wraps a connected net.Socket / tls.TLSSocket (`reader`: the socket was created with its `onread`). */
export class SocketTransport implements Transport {
  readonly description: string;
  private readonly socket: net.Socket;
  private readonly reader: ReadIntoBuffer | undefined;
  private handlers: TransportHandlers | null = null;
  private closed = false;
  private error: Error | undefined;

  constructor(socket: net.Socket, description: string, reader?: ReadIntoBuffer) {
    this.socket = socket;
    this.description = description;
    this.reader = reader;
    // Held until start() so no byte is lost between connect and the dispatcher attaching.
    socket.pause();
    // Only meaningful for TCP (Nagle); a no-op on unix sockets.
    socket.setNoDelay?.(true);
    socket.on("error", (e) => {
      this.error ??= e;
    });
    socket.on("close", () => this.finish());
  }

  start(handlers: TransportHandlers): void {
    this.handlers = handlers;
    if (this.reader) this.reader.attach((chunk) => handlers.data(chunk));
    else this.socket.on("data", (chunk: Buffer) => handlers.data(chunk));
    if (this.closed) handlers.close(this.error);
    else this.socket.resume();
  }

  write(buf: Buffer): void {
    if (this.closed || this.socket.destroyed)
      throw new ConnectionClosedError(`${this.description} is closed`);
    this.socket.write(buf);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.destroy();
    });
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers?.close(this.error);
  }
}

/**
 * Destroys `socket` and resolves on its 'close': a failed connect rejects only after that, and later 'error'
 * events on it are swallowed instead of being uncaught. (A TLS socket's TCP handle is released a few loop
 * turns after its 'close'.)
 */
function destroyed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.on("error", () => {});
    if (socket.closed) resolve();
    else socket.once("close", () => resolve());
    socket.destroy();
  });
}

/** Connects `socket`, rejecting with TimeoutError after timeoutMs (the socket is destroyed then). */
function connectWithTimeout(
  socket: net.Socket,
  readyEvent: "connect" | "secureConnect",
  what: string,
  timeoutMs: number,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => {
      clearTimeout(timer);
      socket.off("error", onError);
      socket.off(readyEvent, onReady);
      void destroyed(socket).then(() => reject(e));
    };
    const timer = setTimeout(() => fail(new TimeoutError(`connecting to ${what}`, timeoutMs)), timeoutMs);
    const onError = (e: Error) =>
      fail(new ConnectionClosedError(`cannot connect to ${what}: ${e.message}`, { cause: e }));
    const onReady = () => {
      clearTimeout(timer);
      socket.off("error", onError);
      resolve(socket);
    };
    socket.once("error", onError);
    socket.once(readyEvent, onReady);
  });
}

export async function connectUnix(path: string, timeoutMs: number): Promise<Transport> {
  const reader = new ReadIntoBuffer();
  const onread = { buffer: reader.buffer, callback: reader.callback };
  const socket = await connectWithTimeout(net.createConnection({ path, onread }), "connect", path, timeoutMs);
  return new SocketTransport(socket, `unix:${path}`, reader);
}

export async function connectTcp(host: string, port: number, timeoutMs: number): Promise<Transport> {
  const what = `tcp:${host}:${port}`;
  const reader = new ReadIntoBuffer();
  const onread = { buffer: reader.buffer, callback: reader.callback };
  const socket = await connectWithTimeout(
    net.createConnection({ host, port, onread }),
    "connect",
    what,
    timeoutMs,
  );
  return new SocketTransport(socket, what, reader);
}

/** libvirt's default PKI locations for a client running as root. */
export const DEFAULT_PKI = {
  ca: "/etc/pki/CA/cacert.pem",
  cert: "/etc/pki/libvirt/clientcert.pem",
  key: "/etc/pki/libvirt/private/clientkey.pem",
} as const;

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
  /** Skip server certificate verification (libvirt's `no_verify=1`). */
  noVerify?: boolean;
}

export async function connectTls(
  host: string,
  port: number,
  files: TlsFiles,
  timeoutMs: number,
): Promise<Transport> {
  const what = `tls:${host}:${port}`;
  const read = (p: string) => {
    try {
      return readFileSync(p);
    } catch (e) {
      throw new ConnectionClosedError(`${what}: cannot read ${p}: ${(e as Error).message}`, { cause: e });
    }
  };
  const socket = tls.connect({
    host,
    port,
    servername: net.isIP(host) ? undefined : host,
    ca: read(files.ca ?? DEFAULT_PKI.ca),
    cert: read(files.cert ?? DEFAULT_PKI.cert),
    key: read(files.key ?? DEFAULT_PKI.key),
    rejectUnauthorized: !files.noVerify,
  });
  await connectWithTimeout(socket, "secureConnect", what, timeoutMs);
  await readTlsCheckByte(socket, what, timeoutMs);
  return new SocketTransport(socket, what);
}

/**
 * After the TLS handshake libvirtd sends one byte, 1, once it has accepted our certificate (virnetclient.c
 * reads it the same way); anything else, or nothing, means the server refused us.
 */
function readTlsCheckByte(socket: net.Socket, what: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (e?: Error) => {
      clearTimeout(timer);
      socket.off("readable", onReadable);
      socket.off("close", onClose);
      socket.off("error", onError);
      if (e) void destroyed(socket).then(() => reject(e));
      else resolve();
    };
    const timer = setTimeout(
      () => done(new TimeoutError(`${what}: waiting for the TLS check byte`, timeoutMs)),
      timeoutMs,
    );
    const onClose = () =>
      done(new ConnectionClosedError(`${what}: server closed the connection after TLS handshake`));
    // libvirtd refusing our certificate may reset the connection here (TLS 1.3: our handshake is done by
    // then); without this listener that 'error' would be uncaught.
    const onError = (e: Error) =>
      done(
        new ConnectionClosedError(`${what}: connection failed after TLS handshake: ${e.message}`, {
          cause: e,
        }),
      );
    const onReadable = () => {
      const b = socket.read(1) as Buffer | null;
      if (b === null) return;
      done(
        b[0] === 1
          ? undefined
          : new ConnectionClosedError(`${what}: server rejected the TLS session (${b[0]})`),
      );
    };
    socket.on("readable", onReadable);
    socket.once("close", onClose);
    socket.once("error", onError);
    onReadable();
  });
}

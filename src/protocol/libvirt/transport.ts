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

/** Wraps a connected net.Socket / tls.TLSSocket. */
export class SocketTransport implements Transport {
  readonly description: string;
  private readonly socket: net.Socket;
  private handlers: TransportHandlers | null = null;
  private closed = false;
  private error: Error | undefined;

  constructor(socket: net.Socket, description: string) {
    this.socket = socket;
    this.description = description;
    // Held until start() so no byte is lost between connect and the dispatcher attaching.
    socket.pause();
    socket.setNoDelay?.(true);
    socket.on("error", (e) => {
      this.error ??= e;
    });
    socket.on("close", () => this.finish());
  }

  start(handlers: TransportHandlers): void {
    this.handlers = handlers;
    this.socket.on("data", (chunk: Buffer) => handlers.data(chunk));
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

/** Connects `socket`, rejecting with TimeoutError after timeoutMs (the socket is destroyed then). */
function connectWithTimeout(
  socket: net.Socket,
  readyEvent: "connect" | "secureConnect",
  what: string,
  timeoutMs: number,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TimeoutError(`connecting to ${what}`, timeoutMs));
    }, timeoutMs);
    const onError = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ConnectionClosedError(`cannot connect to ${what}: ${e.message}`, { cause: e }));
    };
    socket.once("error", onError);
    socket.once(readyEvent, () => {
      clearTimeout(timer);
      socket.off("error", onError);
      resolve(socket);
    });
  });
}

export async function connectUnix(path: string, timeoutMs: number): Promise<Transport> {
  const socket = await connectWithTimeout(net.createConnection({ path }), "connect", path, timeoutMs);
  return new SocketTransport(socket, `unix:${path}`);
}

export async function connectTcp(host: string, port: number, timeoutMs: number): Promise<Transport> {
  const what = `tcp:${host}:${port}`;
  const socket = await connectWithTimeout(net.createConnection({ host, port }), "connect", what, timeoutMs);
  return new SocketTransport(socket, what);
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
      if (e) {
        socket.destroy();
        reject(e);
      } else resolve();
    };
    const timer = setTimeout(
      () => done(new TimeoutError(`${what}: waiting for the TLS check byte`, timeoutMs)),
      timeoutMs,
    );
    const onClose = () =>
      done(new ConnectionClosedError(`${what}: server closed the connection after TLS handshake`));
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
    onReadable();
  });
}

/**
 * ReconnectingLibvirtConnection: a LibvirtClient that comes back. For long-running users (the agent): it
 * connects, and whenever the connection drops it reconnects with exponential backoff plus jitter, re-creating
 * event registrations on the new connection. Calls made while disconnected fail at once with
 * NotConnectedError (nothing is queued: a monitoring sample that cannot be taken now is worthless later).
 *
 * Events: 'connected' (client), 'disconnected' (error), 'connectFailed' (error, attempt, nextDelayMs).
 */
import { EventEmitter } from "node:events";
import { AsyncQueue } from "./async-queue.ts";
import { LibvirtClient, type LibvirtClientOptions } from "./client.ts";
import type { CallOptions } from "./dispatcher.ts";
import { ConnectionClosedError, NotConnectedError, TimeoutError } from "./errors.ts";
import type { EventSubscription } from "./events.ts";
import type { Procedure } from "./procedure.ts";
import type { LifecycleEvent } from "./types.ts";

export type ConnectionState = "idle" | "connecting" | "connected" | "backoff" | "closed";

export interface ReconnectOptions extends LibvirtClientOptions {
  /** First retry delay. Default 500 ms. */
  initialDelayMs?: number;
  /** Delay ceiling. Default 30 s. */
  maxDelayMs?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
  /** ± fraction of random spread, so many agents do not hammer a restarted daemon in lockstep. Default 0.2. */
  jitter?: number;
  /** Opens one connection; injectable for tests. Default LibvirtClient.open. */
  connect?: (uri: string, opts: LibvirtClientOptions) => Promise<LibvirtClient>;
}

export interface ReconnectingEvents {
  connected: [client: LibvirtClient];
  disconnected: [error: Error | undefined];
  connectFailed: [error: Error, attempt: number, nextDelayMs: number];
}

export class ReconnectingLibvirtConnection extends EventEmitter<ReconnectingEvents> {
  readonly uri: string;
  private readonly opts: ReconnectOptions;
  private current: LibvirtClient | null = null;
  private st: ConnectionState = "idle";
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly subscribers = new Set<AsyncQueue<LifecycleEvent>>();
  private pumping: LibvirtClient | null = null;

  constructor(uri: string, opts: ReconnectOptions = {}) {
    super();
    this.uri = uri;
    this.opts = opts;
  }

  get state(): ConnectionState {
    return this.st;
  }

  /** The live client, or NotConnectedError. */
  get client(): LibvirtClient {
    if (this.st !== "connected" || !this.current)
      throw new NotConnectedError(`not connected to ${this.uri} (${this.st})`);
    return this.current;
  }

  /** Starts connecting (idempotent); returns immediately, watch 'connected' or use waitConnected(). */
  start(): void {
    if (this.st !== "idle") return;
    void this.connectOnce();
  }

  /** Resolves with the client once connected, or rejects with TimeoutError / NotConnectedError (closed). */
  waitConnected(timeoutMs = 30_000): Promise<LibvirtClient> {
    if (this.st === "connected" && this.current) return Promise.resolve(this.current);
    if (this.st === "closed") return Promise.reject(new NotConnectedError("connection was closed"));
    this.start();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off("connected", onConnected);
        reject(new TimeoutError(`connecting to ${this.uri}`, timeoutMs));
      }, timeoutMs);
      const onConnected = (c: LibvirtClient) => {
        clearTimeout(t);
        resolve(c);
      };
      this.once("connected", onConnected);
    });
  }

  /** Calls through the live client; fails fast with NotConnectedError while down. */
  call<A, R>(proc: Procedure<A, R>, args: A, opts?: CallOptions): Promise<R> {
    try {
      return this.client.call(proc, args, opts);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Runs `fn` with the live client; fails fast with NotConnectedError while down. */
  async with<T>(fn: (c: LibvirtClient) => Promise<T>): Promise<T> {
    return fn(this.client);
  }

  /**
   * Lifecycle events that survive reconnects: registered on every new connection while subscribed. Events
   * that happen while disconnected are lost (libvirt does not replay them); watch 'connected' to resync.
   */
  lifecycleEvents(queueSize = 1024): EventSubscription<LifecycleEvent> {
    const q: AsyncQueue<LifecycleEvent> = new AsyncQueue(queueSize, () => this.subscribers.delete(q));
    this.subscribers.add(q);
    if (this.current && this.st === "connected") void this.pump(this.current);
    return q;
  }

  /** Stops reconnecting and closes the connection; clears every timer; ends event subscriptions. */
  async close(): Promise<void> {
    if (this.st === "closed") return;
    this.st = "closed";
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const q of [...this.subscribers]) q.close();
    this.subscribers.clear();
    const c = this.current;
    this.current = null;
    if (c) await c.close();
  }

  private async connectOnce(): Promise<void> {
    this.timer = null;
    if (this.st === "closed") return;
    this.st = "connecting";
    let client: LibvirtClient;
    try {
      client = await (this.opts.connect ?? LibvirtClient.open)(this.uri, this.opts);
    } catch (e) {
      if (this.isClosed()) return;
      this.attempt++;
      const delay = this.nextDelay();
      this.st = "backoff";
      this.emit("connectFailed", e as Error, this.attempt, delay);
      this.timer = setTimeout(() => void this.connectOnce(), delay);
      return;
    }
    if (this.isClosed()) {
      // close() ran while we were connecting: drop the socket; nobody will use this connection.
      await client.dispatcher.close();
      return;
    }
    this.attempt = 0;
    this.current = client;
    this.st = "connected";
    client.once("close", (err) => this.onDrop(client, err));
    this.emit("connected", client);
    if (this.subscribers.size > 0) void this.pump(client);
  }

  private onDrop(client: LibvirtClient, err: Error | undefined): void {
    if (this.current !== client || this.st === "closed") return;
    this.current = null;
    this.st = "backoff";
    this.emit("disconnected", err);
    const delay = this.nextDelay();
    this.timer = setTimeout(() => void this.connectOnce(), delay);
  }

  /** Forwards one connection's lifecycle events into every subscriber until that connection ends. */
  private async pump(client: LibvirtClient): Promise<void> {
    if (this.pumping === client) return;
    this.pumping = client;
    try {
      const sub = await client.lifecycleEvents();
      for await (const e of sub) {
        for (const q of this.subscribers) q.push(e);
        if (this.subscribers.size === 0) break;
      }
    } catch (e) {
      // A dropped connection ends the inner stream; the reconnect re-registers. Anything else is real.
      if (!(e instanceof ConnectionClosedError)) for (const q of [...this.subscribers]) q.close(e);
    } finally {
      if (this.pumping === client) this.pumping = null;
    }
  }

  /** A method, not an inline check: close() may run while connectOnce awaits, which TS's narrowing cannot see. */
  private isClosed(): boolean {
    return this.st === "closed";
  }

  private nextDelay(): number {
    const o = this.opts;
    const base = Math.min(
      o.maxDelayMs ?? 30_000,
      (o.initialDelayMs ?? 500) * (o.factor ?? 2) ** Math.max(0, this.attempt - 1),
    );
    const j = o.jitter ?? 0.2;
    return Math.max(0, Math.round(base * (1 - j + Math.random() * 2 * j)));
  }
}

/**
 * ReconnectingLibvirtConnection: a LibvirtClient that comes back. For long-running users (the agent): it
 * connects, and whenever the connection drops it reconnects with exponential backoff plus jitter, re-creating
 * the event registrations of every subscribed family on the new connection. Calls made while disconnected
 * fail at once with NotConnectedError (nothing is queued: a monitoring sample that cannot be taken now is
 * worthless later).
 *
 * Events: 'connected' (client), 'disconnected' (error), 'connectFailed' (error, attempt, nextDelayMs), and
 * 'listenerError' (error, event): a listener of the others threw. Listener errors never break reconnecting
 * and never become unhandled rejections; without a 'listenerError' listener they become process warnings.
 */
import { EventEmitter } from "node:events";
import { AsyncQueue } from "../../shared/async-queue.ts";
import { LibvirtClient, type LibvirtClientOptions } from "./client.ts";
import type { CallOptions } from "./dispatcher.ts";
import { ConnectionClosedError, NotConnectedError, TimeoutError } from "./errors.ts";
import type { EventSink, EventSubscription } from "./events.ts";
import type { AnyDomainEventFamily, EventOf, Procedure } from "./procedure.ts";
import { DomainEvents } from "./procedures.ts";
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
  listenerError: [error: unknown, event: "connected" | "disconnected" | "connectFailed"];
}

export class ReconnectingLibvirtConnection extends EventEmitter<ReconnectingEvents> {
  readonly uri: string;
  private readonly opts: ReconnectOptions;
  private current: LibvirtClient | null = null;
  private connState: ConnectionState = "idle";
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Subscribers per event family; every family with subscribers is registered on each new connection. */
  private readonly subscribers = new Map<AnyDomainEventFamily, Set<EventSink>>();
  /** The connection each family currently forwards events from. */
  private readonly pumping = new Map<AnyDomainEventFamily, LibvirtClient>();
  /** Rejects the pending waitConnected() calls; run by close(). */
  private readonly closeWaiters = new Set<(e: Error) => void>();

  constructor(uri: string, opts: ReconnectOptions = {}) {
    super();
    this.uri = uri;
    this.opts = opts;
  }

  get state(): ConnectionState {
    return this.connState;
  }

  /** The live client, or NotConnectedError. */
  get client(): LibvirtClient {
    if (this.connState !== "connected" || !this.current)
      throw new NotConnectedError(`not connected to ${this.uri} (${this.connState})`);
    return this.current;
  }

  /** Starts connecting (idempotent); returns immediately, watch 'connected' or use waitConnected(). */
  start(): void {
    if (this.connState !== "idle") return;
    this.connState = "connecting";
    this.connectSoon(0);
  }

  /** Resolves with the client once connected, or rejects with TimeoutError / NotConnectedError (closed). */
  waitConnected(timeoutMs = 30_000): Promise<LibvirtClient> {
    if (this.connState === "connected" && this.current) return Promise.resolve(this.current);
    if (this.connState === "closed") return Promise.reject(new NotConnectedError("connection was closed"));
    this.start();
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(t);
        this.off("connected", onConnected);
        this.closeWaiters.delete(onClose);
      };
      const t = setTimeout(() => {
        settle();
        reject(new TimeoutError(`connecting to ${this.uri}`, timeoutMs));
      }, timeoutMs);
      const onConnected = (c: LibvirtClient) => {
        settle();
        resolve(c);
      };
      const onClose = (e: Error) => {
        settle();
        reject(e);
      };
      // Prepended: resolved before any other 'connected' listener can throw.
      this.prependListener("connected", onConnected);
      this.closeWaiters.add(onClose);
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
   * Events of one family (DomainEvents.*) that survive reconnects: the family is registered on every new
   * connection while it has subscribers. Events that happen while disconnected are lost (libvirt does not
   * replay them); watch 'connected' to resync.
   */
  events<F extends AnyDomainEventFamily>(family: F, queueSize = 1024): EventSubscription<EventOf<F>> {
    let subs = this.subscribers.get(family);
    if (!subs) {
      subs = new Set();
      this.subscribers.set(family, subs);
    }
    const set = subs;
    const q: AsyncQueue<EventOf<F>> = new AsyncQueue(queueSize, () => set.delete(q));
    set.add(q);
    if (this.current && this.connState === "connected") void this.pump(this.current, family);
    return q;
  }

  /** Lifecycle events that survive reconnects: `events(DomainEvents.LIFECYCLE)`. */
  lifecycleEvents(queueSize = 1024): EventSubscription<LifecycleEvent> {
    return this.events(DomainEvents.LIFECYCLE, queueSize);
  }

  /** Stops reconnecting and closes the connection; clears every timer; ends event subscriptions. */
  async close(): Promise<void> {
    if (this.connState === "closed") return;
    this.connState = "closed";
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const closed = new NotConnectedError("connection was closed");
    for (const reject of [...this.closeWaiters]) reject(closed);
    for (const subs of this.subscribers.values()) for (const q of [...subs]) q.close();
    this.subscribers.clear();
    const c = this.current;
    this.current = null;
    if (c) await c.close();
  }

  private async connectOnce(): Promise<void> {
    this.timer = null;
    if (this.connState === "closed") return;
    this.connState = "connecting";
    let client: LibvirtClient;
    try {
      client = await (this.opts.connect ?? LibvirtClient.open)(this.uri, this.opts);
    } catch (e) {
      if (this.isClosed()) return;
      this.attempt++;
      const delay = this.nextDelay();
      this.connState = "backoff";
      this.connectSoon(delay);
      this.safeEmit("connectFailed", e as Error, this.attempt, delay);
      return;
    }
    if (this.isClosed()) {
      // close() ran while we were connecting: drop the socket; nobody will use this connection.
      // A failure to close that socket has no one to report to; swallowed so connectOnce never rejects.
      await client.dispatcher.close().catch(() => undefined);
      return;
    }
    this.attempt = 0;
    this.current = client;
    this.connState = "connected";
    client.once("close", (err) => this.onDrop(client, err));
    for (const [family, subs] of this.subscribers) if (subs.size > 0) void this.pump(client, family);
    this.safeEmit("connected", client);
  }

  /** Schedules one connection attempt; connectOnce never rejects (every failure is caught inside). */
  private connectSoon(delayMs: number): void {
    this.timer = setTimeout(() => void this.connectOnce(), delayMs);
  }

  /** Emits to listeners; a throwing listener is reported, never propagated into the reconnect machinery. */
  private safeEmit<K extends "connected" | "disconnected" | "connectFailed">(
    event: K,
    ...args: ReconnectingEvents[K]
  ): void {
    try {
      (this.emit as (e: K, ...a: ReconnectingEvents[K]) => boolean)(event, ...args);
    } catch (e) {
      if (this.listenerCount("listenerError") > 0) this.emit("listenerError", e, event);
      else process.emitWarning(`ReconnectingLibvirtConnection: a '${event}' listener threw: ${String(e)}`);
    }
  }

  private onDrop(client: LibvirtClient, err: Error | undefined): void {
    if (this.current !== client || this.connState === "closed") return;
    this.current = null;
    this.connState = "backoff";
    this.connectSoon(this.nextDelay());
    this.safeEmit("disconnected", err);
  }

  /**
   * Forwards one connection's events of `family` into its subscribers until that connection ends. Never
   * rejects: a registration the daemon refuses ends that family's subscriptions with the daemon's error.
   */
  private async pump(client: LibvirtClient, family: AnyDomainEventFamily): Promise<void> {
    if (this.pumping.get(family) === client) return;
    this.pumping.set(family, client);
    const subs = this.subscribers.get(family);
    try {
      const sub = await client.events(family);
      for await (const e of sub) {
        if (!subs || subs.size === 0) break;
        for (const q of subs) q.push(e);
      }
    } catch (e) {
      // A dropped connection ends the inner stream; the reconnect re-registers. Anything else is real.
      if (!(e instanceof ConnectionClosedError) && subs) for (const q of [...subs]) q.close(e);
    } finally {
      if (this.pumping.get(family) === client) this.pumping.delete(family);
    }
  }

  /** A method, not an inline check: close() may run while connectOnce awaits, which TS's narrowing cannot see. */
  private isClosed(): boolean {
    return this.connState === "closed";
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

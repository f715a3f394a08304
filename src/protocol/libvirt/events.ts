/**
 * Lifecycle events: one server-side callback registration (all domains) per connection, fanned out to any
 * number of subscribers, each with its own bounded AsyncQueue (drop-oldest on overflow, see AsyncQueue).
 * The socket reader only ever pushes, so a slow subscriber cannot stall replies to other calls.
 */
import { XdrReader } from "../xdr/reader.ts";
import { AsyncQueue } from "./async-queue.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { Program } from "./packet.ts";
import { DomainEventId, P } from "./procedures.ts";
import type { LifecycleEvent } from "./types.ts";

/** An event stream: `for await (const e of sub)`; `close()` or `break` ends it; `dropped` counts losses. */
export type EventSubscription<T> = AsyncQueue<T>;

export class LifecycleEvents {
  private dispatcher: Dispatcher;
  private readonly subscribers = new Set<AsyncQueue<LifecycleEvent>>();
  private callbackId: number | null = null;
  private registering: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(dispatcher: Dispatcher) {
    this.dispatcher = dispatcher;
  }

  /** Registers with the server on first use; resolves once events will be delivered. */
  async subscribe(queueSize = 1024): Promise<EventSubscription<LifecycleEvent>> {
    // Subscribed before registering, so an event that arrives in the same chunk as the reply is not lost.
    const q: AsyncQueue<LifecycleEvent> = new AsyncQueue(queueSize, () => this.subscribers.delete(q));
    this.subscribers.add(q);
    try {
      await this.ensureRegistered();
    } catch (e) {
      q.close();
      throw e;
    }
    return q;
  }

  /** Moves existing subscribers to a new connection (used after a reconnect). */
  async rebind(dispatcher: Dispatcher): Promise<void> {
    this.unsubscribe?.();
    this.dispatcher = dispatcher;
    this.callbackId = null;
    this.registering = null;
    if (this.subscribers.size > 0) await this.ensureRegistered();
  }

  get registered(): boolean {
    return this.callbackId !== null;
  }

  /** Deregisters on the server (best effort: the connection may be going away) and ends all subscriptions. */
  async close(error?: Error): Promise<void> {
    const id = this.callbackId;
    this.callbackId = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const q of [...this.subscribers]) q.close(error);
    this.subscribers.clear();
    if (id !== null && !this.dispatcher.closed) {
      await this.dispatcher.call(
        P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
        { callbackID: id },
        { timeoutMs: 5000 },
      );
    }
  }

  /** Ends every subscription with `error` without talking to the server (connection lost for good). */
  failAll(error: Error): void {
    for (const q of [...this.subscribers]) q.close(error);
    this.subscribers.clear();
  }

  private ensureRegistered(): Promise<void> {
    if (this.callbackId !== null) return Promise.resolve();
    this.registering ??= this.register().finally(() => {
      this.registering = null;
    });
    return this.registering;
  }

  private async register(): Promise<void> {
    const d = this.dispatcher;
    // Handler first: an event may follow the registration reply in the same chunk.
    this.unsubscribe = d.onMessage(Program.REMOTE, P.DOMAIN_EVENT_CALLBACK_LIFECYCLE.number, (body) => {
      const r = new XdrReader(body);
      const m = P.DOMAIN_EVENT_CALLBACK_LIFECYCLE.args.decode(r);
      r.assertEnd();
      // While registering the id is not known yet (the event can come in the reply's chunk); after, drop stale ids.
      if (this.callbackId !== null && m.callbackID !== this.callbackId) return;
      const event: LifecycleEvent = { domain: m.msg.dom, event: m.msg.event, detail: m.msg.detail };
      for (const q of this.subscribers) q.push(event);
    });
    try {
      const ret = await d.call(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, {
        eventID: DomainEventId.LIFECYCLE,
        dom: null,
      });
      this.callbackId = ret.callbackID;
    } catch (e) {
      this.unsubscribe?.();
      this.unsubscribe = null;
      throw e;
    }
  }
}

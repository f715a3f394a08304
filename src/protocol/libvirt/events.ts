/**
 * Domain events of one connection, for any family declared in procedures.ts (DomainEvents): per family, one
 * server-side callback registration (all domains), made on first subscribe and fanned out to any number of
 * subscribers, each with its own bounded AsyncQueue (drop-oldest on overflow, see AsyncQueue). The socket
 * reader only ever pushes, so a slow subscriber cannot stall replies to other calls.
 */
import { AsyncQueue } from "../../shared/async-queue.ts";
import { XdrReader } from "../xdr/reader.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { Program } from "./packet.ts";
import type { AnyDomainEventFamily, EventOf } from "./procedure.ts";
import { P } from "./procedures.ts";

/** An event stream: `for await (const e of sub)`; `close()` or `break` ends it; `dropped` counts losses. */
export type EventSubscription<T> = AsyncQueue<T>;

/** A subscriber as the fan-out sees it, whatever its family's event type (method syntax: bivariant). */
export interface EventSink {
  push(event: unknown): void;
  close(error?: unknown): void;
}

/** One family's registration on this connection. */
interface Registration {
  readonly subscribers: Set<EventSink>;
  callbackId: number | null;
  registering: Promise<void> | null;
  unsubscribe: (() => void) | null;
}

export class DomainEventRegistry {
  private readonly dispatcher: Dispatcher;
  private readonly families = new Map<AnyDomainEventFamily, Registration>();

  constructor(dispatcher: Dispatcher) {
    this.dispatcher = dispatcher;
  }

  /** Registers `family` with the server on first use; resolves once its events will be delivered. */
  async subscribe<F extends AnyDomainEventFamily>(
    family: F,
    queueSize = 1024,
  ): Promise<EventSubscription<EventOf<F>>> {
    const reg = this.registration(family);
    // Subscribed before registering, so an event that arrives in the same chunk as the reply is not lost.
    const q: AsyncQueue<EventOf<F>> = new AsyncQueue(queueSize, () => reg.subscribers.delete(q));
    reg.subscribers.add(q);
    try {
      await this.ensureRegistered(family, reg);
    } catch (e) {
      q.close();
      throw e;
    }
    return q;
  }

  /**
   * Deregisters every family on the server and ends all subscriptions. Not best effort: a daemon error on a
   * deregistration is thrown (after every subscription ended), so client.close() can report it.
   */
  async close(error?: Error): Promise<void> {
    const ids: number[] = [];
    for (const reg of this.families.values()) {
      if (reg.callbackId !== null) ids.push(reg.callbackId);
      reg.unsubscribe?.();
      for (const q of [...reg.subscribers]) q.close(error);
    }
    this.families.clear();
    if (this.dispatcher.closed) return;
    for (const callbackID of ids) {
      await this.dispatcher.call(
        P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
        { callbackID },
        { timeoutMs: 5000 },
      );
    }
  }

  /** Ends every subscription with `error` without talking to the server (connection lost for good). */
  failAll(error: Error): void {
    for (const reg of this.families.values()) for (const q of [...reg.subscribers]) q.close(error);
    this.families.clear();
  }

  private registration(family: AnyDomainEventFamily): Registration {
    let reg = this.families.get(family);
    if (!reg) {
      reg = { subscribers: new Set(), callbackId: null, registering: null, unsubscribe: null };
      this.families.set(family, reg);
    }
    return reg;
  }

  private ensureRegistered(family: AnyDomainEventFamily, reg: Registration): Promise<void> {
    if (reg.callbackId !== null) return Promise.resolve();
    reg.registering ??= this.register(family, reg).finally(() => {
      reg.registering = null;
    });
    return reg.registering;
  }

  private async register(family: AnyDomainEventFamily, reg: Registration): Promise<void> {
    const d = this.dispatcher;
    // Handler first: an event may follow the registration reply in the same chunk.
    reg.unsubscribe = d.onMessage(Program.REMOTE, family.procedure, (body) => {
      const r = new XdrReader(body);
      const m = family.payload.decode(r) as { callbackID: number };
      r.assertEnd();
      // While registering the id is not known yet (the event can come in the reply's chunk); after, drop stale ids.
      if (reg.callbackId !== null && m.callbackID !== reg.callbackId) return;
      const event: unknown = family.toEvent(m);
      for (const q of reg.subscribers) q.push(event);
    });
    try {
      const ret = await d.call(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, {
        eventID: family.eventId,
        dom: null,
      });
      reg.callbackId = ret.callbackID;
    } catch (e) {
      reg.unsubscribe?.();
      reg.unsubscribe = null;
      throw e;
    }
  }
}

/** What a procedure is: pure data naming its program, number and the schemas of its args and result. */
import { type Codec, x } from "../xdr/schema.ts";
import { PROGRAM_VERSION, Program } from "./packet.ts";

export interface Procedure<A, R> {
  readonly name: string;
  readonly program: number;
  readonly version: number;
  readonly number: number;
  readonly args: Codec<A>;
  readonly ret: Codec<R>;
  /** True when the reply opens a stream (console); the call then resolves to a LibvirtStream. */
  readonly stream?: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry of procedures with unrelated arg/ret types
export type AnyProcedure = Procedure<any, any>;

/** Declares a procedure of the REMOTE program. `args`/`ret` default to void. */
export function remote<A = undefined, R = undefined>(
  name: string,
  number: number,
  args?: Codec<A>,
  ret?: Codec<R>,
  extra?: { stream?: boolean },
): Procedure<A, R> {
  return declare(Program.REMOTE, name, number, args, ret, extra);
}

/** Declares a procedure of the QEMU program (monitor and guest-agent passthrough). */
export function qemu<A = undefined, R = undefined>(
  name: string,
  number: number,
  args?: Codec<A>,
  ret?: Codec<R>,
): Procedure<A, R> {
  return declare(Program.QEMU, name, number, args, ret);
}

function declare<A, R>(
  program: number,
  name: string,
  number: number,
  args: Codec<A> | undefined,
  ret: Codec<R> | undefined,
  extra?: { stream?: boolean },
): Procedure<A, R> {
  return {
    name,
    program,
    version: PROGRAM_VERSION,
    number,
    args: args ?? (x.void as unknown as Codec<A>),
    ret: ret ?? (x.void as unknown as Codec<R>),
    stream: extra?.stream ?? false,
  };
}

/**
 * A domain event family, as data: the virDomainEventID registered with
 * CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, the REMOTE MESSAGE procedure that then carries each event, the
 * XDR schema of that message (always led by the callbackID it was sent for), and how it becomes the public
 * event. The event registry (events.ts) handles every family the same way.
 */
export interface DomainEventFamily<M extends { callbackID: number }, E> {
  readonly name: string;
  readonly eventId: number;
  /** REMOTE_PROC_DOMAIN_EVENT_CALLBACK_* number of the server-to-client MESSAGE. */
  readonly procedure: number;
  readonly payload: Codec<M>;
  readonly toEvent: (message: M) => E;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- families with unrelated payload/event types
export type AnyDomainEventFamily = DomainEventFamily<any, any>;
/** The public event type a family delivers. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- only the event type is inferred
export type EventOf<F> = F extends DomainEventFamily<any, infer E> ? E : never;

export function domainEvent<M extends { callbackID: number }, E>(
  name: string,
  eventId: number,
  procedure: number,
  payload: Codec<M>,
  toEvent: (message: M) => E,
): DomainEventFamily<M, E> {
  return { name, eventId, procedure, payload, toEvent };
}

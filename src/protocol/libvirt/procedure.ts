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
export type ArgsOf<P> = P extends Procedure<infer A, unknown> ? A : never;
export type RetOf<P> = P extends Procedure<unknown, infer R> ? R : never;

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

/**
 * The contract every `kvmon` subcommand implements (pnpm-style): a module that declares its name, a one-line
 * summary, its help text, and a handler that returns an exit code. Handlers receive the raw argv after the
 * command name and parse it themselves with `parseCommandArgs`, so each command owns its flags.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./errors.ts";

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface Command {
  name: string;
  summary: string;
  /** Full help text shown by `kvmon <name> --help`. */
  help: () => string;
  handler: (argv: string[], io: CliIo) => Promise<number>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs with strict checking, turning node's parse errors into a UsageError naming the command. */
export function parseCommandArgs<T extends Options>(command: string, argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`, { cause: error });
  }
}

/** Parses a positive integer flag value, or throws a UsageError naming the flag. */
export function intFlag(
  flag: string,
  value: string | undefined,
  fallback: number,
  min = 1,
  max = 1e9,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

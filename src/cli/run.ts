/**
 * Dispatch to a registered subcommand, with every error formatted in one place. Its own module (main.ts is
 * the entry point) so that a command can run others, as `kvmon shell` does.
 * Exit codes: 0 ok, 1 failure, 2 bad usage.
 */
import type { CliIo, Command } from "./command.ts";
import { KvmonError } from "../shared/errors.ts";
import { UsageError } from "./errors.ts";
import { commands } from "./registry.ts";

const VERSION = "0.1.0";

function mainHelp(list: readonly Command[]): string {
  const width = Math.max(...list.map((c) => c.name.length));
  return [
    "kvmon: monitoring for KVM/QEMU virtual machines",
    "",
    "Usage: kvmon <command> [options]",
    "",
    "Commands:",
    ...list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run 'kvmon <command> --help' for a command's options.",
    "",
  ].join("\n");
}

export async function run(argv: string[], io: CliIo, list: readonly Command[] = commands): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(mainHelp(list));
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    io.out(`kvmon ${VERSION} (node ${process.versions.node})\n`);
    return 0;
  }
  const command = list.find((c) => c.name === name);
  if (!command) {
    io.err(`kvmon: unknown command '${name}'\n\n${mainHelp(list)}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(command.help());
    return 0;
  }
  try {
    return await command.handler(rest, io);
  } catch (error) {
    return reportError(error, io);
  }
}

/** Prints an error the way every command's errors are printed; returns the exit code it means. */
export function reportError(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.err(`kvmon: ${error.message}\n(see 'kvmon --help')\n`);
    return 2;
  }
  // Every layer raises KvmonErrors: the operator gets the stable code (what scripts match on), the message and
  // the hint, without a stack; anything else is a bug, with its stack under KVMON_DEBUG.
  if (error instanceof KvmonError) {
    io.err(`kvmon: [${error.code}] ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ""}`);
    return 1;
  }
  const e = error as Error;
  io.err(`kvmon: ${e?.message ?? String(error)}\n`);
  if (process.env.KVMON_DEBUG) io.err(`${e?.stack ?? ""}\n`);
  return 1;
}

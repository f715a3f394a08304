/**
 * `kvmon` entry point: runs the command line through run.ts (dispatch and error formatting) and exits with
 * its code: 0 ok, 1 failure, 2 bad usage.
 */
import type { CliIo } from "./command.ts";
import { run } from "./run.ts";

export { run } from "./run.ts";

if (import.meta.main) {
  const io: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
  process.exitCode = await run(process.argv.slice(2), io);
}

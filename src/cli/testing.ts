/** Test support for CLI commands: a CliIo that records what a command prints. */
import type { CliIo } from "./command.ts";

export function captureIo(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: "",
    stderr: "",
    out: (t: string) => {
      io.stdout += t;
    },
    err: (t: string) => {
      io.stderr += t;
    },
  };
  return io;
}

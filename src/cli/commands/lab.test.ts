/** `kvmon lab` argument handling (src/cli/commands/lab.ts): every bad command line fails before any work. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CliIo } from "../command.ts";
import { run } from "../main.ts";

async function kvmon(...argv: string[]) {
  const io = { stdout: "", stderr: "" };
  const cli: CliIo = {
    out: (t) => {
      io.stdout += t;
    },
    err: (t) => {
      io.stderr += t;
    },
  };
  const code = await run(argv, cli);
  return { code, ...io };
}

test("lab --help lists the subcommands", async () => {
  const r = await kvmon("lab", "--help");
  assert.equal(r.code, 0);
  for (const sub of ["up [--vms N]", "status", "down [--daemons]", "kvm start|stop", "load <vm> cpu N"]) {
    assert.ok(r.stdout.includes(sub), sub);
  }
});

test("usage errors exit 2 with a message", async () => {
  for (const [argv, message] of [
    [["lab"], /missing subcommand/],
    [["lab", "sideways"], /unknown subcommand 'sideways'/],
    [["lab", "up", "--vms", "0"], /--vms must be a whole number from 1 to 16/],
    [["lab", "up", "--vms", "99"], /--vms must be/],
    [["lab", "up", "extra"], /unexpected argument 'extra'/],
    [["lab", "kvm", "restart"], /expected 'start' or 'stop'/],
    [["lab", "load", "production-db", "cpu", "1"], /not a lab guest/],
    [["lab", "load", "kvmon-lab-1", "net", "sideways"], /expected 'in' or 'out'/],
    [["lab", "load", "kvmon-lab-1", "cpu"], /how many workers/],
  ] as const) {
    const r = await kvmon(...argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.match(r.stderr, message);
  }
});

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Command } from "./command.ts";
import { LabError } from "../lab/errors.ts";
import { UsageError } from "./errors.ts";
import { captureIo } from "./testing.ts";
import { run } from "./main.ts";

const echo: Command = {
  name: "echo",
  summary: "prints its arguments",
  help: () => "Usage: kvmon echo [words]\n",
  handler: async (argv, io) => {
    if (argv[0] === "--bad") throw new UsageError("echo: bad flag");
    if (argv[0] === "--lab")
      throw new LabError("libvirtd will not start", { hint: "look at /var/log/libvirt" });
    if (argv[0] === "--bug") throw new TypeError("x is undefined");
    io.out(argv.join(" "));
    return 0;
  },
};

test("main help lists registered commands", async () => {
  const io = captureIo();
  assert.equal(await run(["--help"], io, [echo]), 0);
  assert.match(io.stdout, /echo\s+prints its arguments/);
});

test("command help and dispatch", async () => {
  const io = captureIo();
  assert.equal(await run(["echo", "--help"], io, [echo]), 0);
  assert.match(io.stdout, /Usage: kvmon echo/);
  assert.equal(await run(["echo", "a", "b"], io, [echo]), 0);
  assert.match(io.stdout, /a b$/);
});

test("unknown command and usage errors exit 2 with a message", async () => {
  const io = captureIo();
  assert.equal(await run(["nope"], io, [echo]), 2);
  assert.match(io.stderr, /unknown command 'nope'/);
  assert.equal(await run(["echo", "--bad"], io, [echo]), 2);
  assert.match(io.stderr, /echo: bad flag/);
});

test("an error from a lower layer with a hint prints message and hint, exit 1", async () => {
  const io = captureIo();
  assert.equal(await run(["echo", "--lab"], io, [echo]), 1);
  assert.equal(io.stderr, "kvmon: [LAB_FAILED] libvirtd will not start\nhint: look at /var/log/libvirt\n");
});

test("an unexpected error prints its message and exits 1", async () => {
  const io = captureIo();
  assert.equal(await run(["echo", "--bug"], io, [echo]), 1);
  assert.match(io.stderr, /^kvmon: x is undefined\n$/);
});

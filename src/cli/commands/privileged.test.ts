/** console, exec and trace: help with examples, the exit-code mapping, the console's escape key. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { run } from "../main.ts";
import { captureIo } from "../testing.ts";
import { ESCAPE, splitAtEscape } from "./console.ts";
import { exitStatus, TIMEOUT_STATUS } from "./exec.ts";

test("each command's --help has its usage, the access flags and examples", async () => {
  for (const name of ["console", "exec", "trace"]) {
    const io = captureIo();
    assert.equal(await run([name, "--help"], io), 0);
    assert.match(io.stdout, new RegExp(`^Usage: kvmon ${name} `), name);
    assert.match(io.stdout, /\nExamples:\n {2}kvmon /, name);
    assert.match(io.stdout, /--audit-log/, name);
  }
  const io = captureIo();
  await run(["console", "--help"], io);
  assert.match(io.stdout, /no window size/, "the console says a serial console has no window size");
  assert.match(io.stdout, /Ctrl-\]/);
});

test("exec exit status: the program's code, 128 + signal, 124 at the timeout, 1 when unknown", () => {
  assert.equal(exitStatus({ exitCode: 7, signal: null, timedOut: false }), 7);
  assert.equal(exitStatus({ exitCode: 0, signal: null, timedOut: false }), 0);
  assert.equal(exitStatus({ exitCode: null, signal: 15, timedOut: false }), 143);
  assert.equal(exitStatus({ exitCode: 137, signal: 9, timedOut: true }), TIMEOUT_STATUS);
  assert.equal(exitStatus({ exitCode: null, signal: null, timedOut: false }), 1);
});

test("console escape: the bytes before Ctrl-] go to the guest, the rest of the chunk is dropped", () => {
  assert.deepEqual(splitAtEscape(Buffer.from("ls\r")), { forward: Buffer.from("ls\r"), escaped: false });
  const typed = Buffer.concat([Buffer.from("ab"), Buffer.from([ESCAPE]), Buffer.from("cd")]);
  assert.deepEqual(splitAtEscape(typed), { forward: Buffer.from("ab"), escaped: true });
  assert.deepEqual(splitAtEscape(Buffer.from([ESCAPE])).forward.length, 0);
});

test("usage errors exit 2 naming the command", async () => {
  for (const argv of [
    ["console"],
    ["console", "a", "b"],
    ["exec", "vm"],
    ["trace"],
    ["trace", "--duration", "x", "vm"],
  ]) {
    const io = captureIo();
    assert.equal(await run(argv, io), 2, argv.join(" "));
    assert.match(io.stderr, new RegExp(`kvmon: ${argv[0]}: |--duration`));
  }
});

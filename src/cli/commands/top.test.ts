import assert from "node:assert/strict";
import { test } from "node:test";
import { run } from "../run.ts";
import { captureIo } from "../testing.ts";

test("bad flags are usage errors before anything is read", async () => {
  for (const [argv, message] of [
    [["top", "--json"], /--json needs --once/],
    [["top", "-o", "bogus"], /-o must be one of name, state, cpu/],
    [["top", "--state", "sleeping"], /--state must be one of active, inactive, nostate, running/],
    [["top", "-d", "0.1"], /-d must be seconds from 0.5/],
    [["top", "-n", "0"], /--iterations must be a whole number/],
    [["shell", "extra"], /shell: unexpected argument 'extra'/],
  ] as const) {
    const io = captureIo();
    assert.equal(await run([...argv], io), 2, argv.join(" "));
    assert.match(io.stderr, message);
  }
});

test("--help of top and shell shows examples", async () => {
  for (const name of ["top", "shell"]) {
    const io = captureIo();
    assert.equal(await run([name, "--help"], io), 0);
    assert.match(io.stdout, /Examples:\n {2}kvmon/);
  }
});

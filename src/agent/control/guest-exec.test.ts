import assert from "node:assert/strict";
import { test } from "node:test";
import { guestExec, output } from "./guest-exec.ts";
import { scriptedChannel } from "./testing.ts";

const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");
const info = {
  version: "7.2",
  supported_commands: [{ name: "guest-exec", enabled: true, "success-response": true }],
};

test("guestExec: arguments, stdin as base64, output as base64 and text, exit code", async () => {
  const seen: unknown[] = [];
  const ch = scriptedChannel((cmd, args) => {
    seen.push([cmd, args]);
    if (cmd === "guest-exec") return { pid: 7 };
    return { exited: true, exitcode: 3, "out-data": b64("hé\n"), "err-data": b64("oops") };
  });
  const r = await guestExec(ch, { path: "/bin/sh", args: ["-c", "x"], input: Buffer.from("in") });
  assert.deepEqual(seen[0], [
    "guest-exec",
    { path: "/bin/sh", arg: ["-c", "x"], "capture-output": true, "input-data": b64("in") },
  ]);
  assert.equal(r.exitCode, 3);
  assert.equal(r.signal, null);
  assert.deepEqual(r.stdout, { base64: b64("hé\n"), text: "hé\n", bytes: 4 });
  assert.equal(r.stderr.text, "oops");
  assert.equal(r.truncated, false);
  assert.equal(r.timedOut, false);
});

test("output: cut at the cap (truncated), a character split by the cut dropped from text, invalid UTF-8 null", () => {
  const cut = output(b64("aé"), 2); // 'a' + first byte of 'é'
  assert.equal(cut.cut, true);
  assert.equal(cut.output.bytes, 2);
  assert.equal(cut.output.text, "a");
  assert.equal(output(b64(Buffer.from([0xff, 0x41])), 10).output.text, null);
  assert.equal(output(b64(Buffer.from([0xff, 0x41])), 10).output.base64, b64(Buffer.from([0xff, 0x41])));
  assert.deepEqual(output(undefined, 10).output, { base64: "", text: "", bytes: 0 });
});

test("guestExec: the agent's own truncation flag is kept", async () => {
  const ch = scriptedChannel((cmd) =>
    cmd === "guest-exec" ? { pid: 1 } : { exited: true, exitcode: 0, "out-truncated": true },
  );
  assert.equal((await guestExec(ch, { path: "x" })).truncated, true);
});

test("guestExec: at the timeout a second guest-exec kills the program by pid, then its status is read", async () => {
  let killed = false;
  const calls: string[] = [];
  const ch = scriptedChannel((cmd, args) => {
    if (cmd === "guest-info") return info;
    if (cmd === "guest-exec" && args?.path === "kill") {
      assert.deepEqual(args.arg, ["-KILL", "42"]);
      killed = true;
      return { pid: 43 };
    }
    if (cmd === "guest-exec") return { pid: 42 };
    return killed ? { exited: true, signal: 9, "out-data": b64("partial") } : { exited: false };
  }, calls);
  const r = await guestExec(ch, { path: "sleep", args: ["100"], timeoutMs: 100 });
  assert.ok(r.durationMs >= 100, `gave up after ${r.durationMs} ms, before its deadline`);
  assert.equal(r.timedOut, true);
  assert.equal(r.killed, true);
  assert.equal(r.signal, 9);
  assert.equal(r.exitCode, 137);
  assert.equal(r.stdout.text, "partial");
  assert.ok(calls.includes("guest-info"));
});

test("guestExec: no kill when the agent does not list guest-exec enabled, or when not asked", async () => {
  for (const [enabled, killOnTimeout] of [
    [false, true],
    [true, false],
  ] as const) {
    const calls: string[] = [];
    const ch = scriptedChannel((cmd) => {
      if (cmd === "guest-info")
        return { ...info, supported_commands: [{ ...info.supported_commands[0], enabled }] };
      return cmd === "guest-exec" ? { pid: 5 } : { exited: false };
    }, calls);
    const r = await guestExec(ch, { path: "sleep", timeoutMs: 50 }, { killOnTimeout });
    assert.equal(r.timedOut, true);
    assert.equal(r.killed, false);
    assert.equal(r.exitCode, null);
    assert.equal(calls.filter((c) => c === "guest-exec").length, 1);
  }
});

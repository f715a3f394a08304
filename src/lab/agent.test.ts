import assert from "node:assert/strict";
import { test } from "node:test";
import { execResult, guestExec, pingAgent, waitForAgent } from "./agent.ts";
import { AgentError, LabTimeoutError } from "./errors.ts";
import type { LabLibvirt } from "./virsh.ts";

test("execResult decodes base64 output and exit code", () => {
  const r = execResult({ exited: true, exitcode: 3, "out-data": Buffer.from("hi\n").toString("base64") });
  assert.deepEqual(r, { exitcode: 3, stdout: "hi\n", stderr: "" });
  assert.deepEqual(execResult({ exited: true, signal: 9 }), {
    exitcode: 137,
    signal: 9,
    stdout: "",
    stderr: "",
  });
});

/** A LabLibvirt whose agentCommand is scripted; everything else is unused by agent.ts. */
function fakeAgent(
  reply: (cmd: { execute: string; arguments?: Record<string, unknown> }) => unknown,
): LabLibvirt {
  const unused = () => Promise.reject(new Error("unused"));
  return {
    define: unused,
    start: unused,
    destroy: unused,
    undefine: unused,
    list: unused,
    domstate: unused,
    dumpxml: unused,
    kvmSupported: unused,
    agentCommand: async (_name, command) => reply(command as { execute: string }),
  };
}

test("guestExec polls guest-exec-status until the process exits", async () => {
  const calls: string[] = [];
  let polls = 0;
  const lv = fakeAgent((cmd) => {
    calls.push(cmd.execute);
    if (cmd.execute === "guest-exec") {
      assert.deepEqual(cmd.arguments, { path: "/bin/echo", arg: ["a", "b"], "capture-output": true });
      return { pid: 7 };
    }
    assert.deepEqual(cmd.arguments, { pid: 7 });
    polls += 1;
    return polls < 3
      ? { exited: false }
      : { exited: true, exitcode: 0, "out-data": Buffer.from("a b\n").toString("base64") };
  });
  const r = await guestExec(lv, "vm", ["/bin/echo", "a", "b"]);
  assert.deepEqual(r, { exitcode: 0, stdout: "a b\n", stderr: "" });
  assert.deepEqual(calls, ["guest-exec", "guest-exec-status", "guest-exec-status", "guest-exec-status"]);
});

test("guestExec times out on a process that never exits", async () => {
  const lv = fakeAgent((cmd) => (cmd.execute === "guest-exec" ? { pid: 1 } : { exited: false }));
  await assert.rejects(guestExec(lv, "vm", ["/bin/sleep", "99"], { timeoutMs: 150 }), LabTimeoutError);
});

test("pingAgent reports an unreachable agent; waitForAgent waits, then gives up", async () => {
  let up = false;
  const lv = fakeAgent(() => {
    if (!up) throw new AgentError("vm", "QEMU guest agent is not connected");
    return {};
  });
  const down = await pingAgent(lv, "vm");
  assert.equal(down.ok, false);
  assert.match(down.error ?? "", /not connected/);
  await assert.rejects(waitForAgent(lv, "vm", 120, 20), /did not answer guest-ping .*not connected/);
  setTimeout(() => {
    up = true;
  }, 60);
  assert.ok((await waitForAgent(lv, "vm", 2000, 20)) >= 50);
});

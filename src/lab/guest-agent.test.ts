import assert from "node:assert/strict";
import { test } from "node:test";
import { QgaCommandError, QgaUnavailableError } from "../protocol/qga/index.ts";
import { LabTimeoutError, VirshError } from "./errors.ts";
import { guestExec, pingAgent, virshAgentTransport, waitForAgent } from "./guest-agent.ts";
import type { LabLibvirt } from "./virsh.ts";

/** A LabLibvirt whose agentCommand answers from a script (objects are sent back as `{"return": ...}`). */
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
    agentCommand: async (_name, request) => JSON.stringify({ return: reply(JSON.parse(request)) }),
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
  const r = await guestExec("vm", ["/bin/echo", "a", "b"], { libvirt: lv });
  assert.deepEqual(r, { exitcode: 0, stdout: "a b\n", stderr: "" });
  assert.deepEqual(calls, ["guest-exec", "guest-exec-status", "guest-exec-status", "guest-exec-status"]);
});

test("guestExec times out on a process that never exits", async () => {
  const lv = fakeAgent((cmd) => (cmd.execute === "guest-exec" ? { pid: 1 } : { exited: false }));
  await assert.rejects(
    guestExec("vm", ["/bin/sleep", "99"], { libvirt: lv, timeoutMs: 150 }),
    LabTimeoutError,
  );
});

test("pingAgent reports an unreachable agent; waitForAgent waits, then gives up", async () => {
  let up = false;
  const lv = fakeAgent(() => {
    if (!up)
      throw new VirshError(
        "qemu-agent-command vm",
        "Guest agent is not responding: QEMU guest agent is not connected",
      );
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

test("the virsh transport turns virsh failures into the protocol's errors, the VirshError kept as cause", async () => {
  const failing = (message: string): LabLibvirt => ({
    ...fakeAgent(() => ({})),
    agentCommand: () => Promise.reject(new VirshError("qemu-agent-command vm", message)),
  });
  const refused = failing(
    "internal error: unable to execute QEMU agent command 'guest-exec-status': Invalid parameter 'pid'",
  );
  await assert.rejects(
    virshAgentTransport(refused, "vm").request("guest-exec-status", { pid: 1 }, 1000),
    (e) =>
      e instanceof QgaCommandError && e.desc === "Invalid parameter 'pid'" && e.cause instanceof VirshError,
  );
  for (const message of [
    "argument unsupported: QEMU guest agent is not configured",
    "Disconnected from qemu:///system due to end of file",
  ]) {
    await assert.rejects(
      virshAgentTransport(failing(message), "vm").request("guest-ping", undefined, 1000),
      (e) =>
        e instanceof QgaUnavailableError && e.code === "QGA_UNAVAILABLE" && e.cause instanceof VirshError,
      message,
    );
  }
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { CommandError, VirshError } from "./errors.ts";
import type { run } from "./exec.ts";
import { parseVirshList, virshLibvirt } from "./virsh.ts";

test("parseVirshList reads ids, names and multi-word states, with or without the header", () => {
  const withHeader = ` Id   Name            State
---------------------------------
 3    kvmon-lab-1     running
 4    kvmon-lab-2     paused
 -    kvmon-lab-kvm   shut off

`;
  const expected = [
    { id: 3, name: "kvmon-lab-1", state: "running" },
    { id: 4, name: "kvmon-lab-2", state: "paused" },
    { id: undefined, name: "kvmon-lab-kvm", state: "shut off" },
  ];
  assert.deepEqual(parseVirshList(withHeader), expected);
  assert.deepEqual(parseVirshList(withHeader.split("\n").slice(2).join("\n")), expected);
  assert.deepEqual(parseVirshList(""), []);
});

/** A fake `run` answering virsh calls from a script: a string is stdout, an Error-text is a failure. */
function scripted(answers: string[]): { runner: typeof run; calls: string[][] } {
  const calls: string[][] = [];
  const runner: typeof run = async (file, args) => {
    calls.push([file, ...args]);
    const answer = answers.shift();
    if (answer === undefined) throw new Error("unexpected call");
    if (answer.startsWith("error: ")) {
      throw new CommandError(`virsh ${args.join(" ")}`, { exitCode: 1, stderr: answer, timedOut: false });
    }
    return { stdout: answer, stderr: "" };
  };
  return { runner, calls };
}

test("a call that loses libvirtd is retried; 'already active' on the retry means the start took effect", async () => {
  const { runner, calls } = scripted([
    "error: Disconnected from qemu:///system due to end of file\nerror: Failed to start domain 'vm'\n",
    "error: Failed to connect socket to '/var/run/libvirt/libvirt-sock': Connection refused\n",
    "error: Failed to start domain 'vm'\nerror: Requested operation is not valid: domain is already active\n",
  ]);
  await virshLibvirt("qemu:///system", runner).start("vm");
  assert.equal(calls.length, 3);
  assert.deepEqual(calls[0], ["virsh", "-q", "-c", "qemu:///system", "start", "vm"]);
});

test("refusals are not retried, and agent commands retry only when libvirtd was never reached", async () => {
  const refused = scripted(["error: Requested operation is not valid: domain is already active\n"]);
  await assert.rejects(virshLibvirt(undefined, refused.runner).start("vm"), /already active/);
  assert.equal(refused.calls.length, 1);

  const dropped = scripted(["error: Disconnected from qemu:///system due to end of file\n"]);
  await assert.rejects(
    virshLibvirt(undefined, dropped.runner).agentCommand("vm", '{"execute":"guest-exec"}'),
    (e: unknown) => e instanceof VirshError && /Disconnected/.test(e.message),
  );
  assert.equal(dropped.calls.length, 1, "guest-exec is not sent twice");

  const notUp = scripted([
    "error: Failed to connect socket to '/var/run/libvirt/libvirt-sock'\n",
    '{"return":{}}',
  ]);
  assert.deepEqual(
    await virshLibvirt(undefined, notUp.runner).agentCommand("vm", '{"execute":"guest-ping"}'),
    '{"return":{}}',
  );
});

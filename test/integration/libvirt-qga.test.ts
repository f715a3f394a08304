/**
 * The guest-agent client through libvirt (QEMU_DOMAIN_AGENT_COMMAND) on a lab guest, with `virsh
 * qemu-agent-command` as the witness (the lab guest is only read), and AGENT_LIFECYCLE events of a throwaway
 * transient domain (kvmon-test-*, the lab's kernel and initramfs, whose busybox init respawns qemu-ga): the
 * agent connects at boot, and disconnects and reconnects when it is killed in the guest.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import {
  type AgentLifecycleEvent,
  AgentLifecycleState,
  type DomainRef,
  DomainEvents,
  LibvirtClient,
} from "../../src/protocol/libvirt/index.ts";
import { QgaClient, QgaCommands, QgaLibvirtTransport } from "../../src/protocol/qga/index.ts";
import { guardLeaks } from "../guards.ts";
import { labGuests } from "../lab.ts";
import { throwawayXml, virsh } from "../libvirt-helpers.ts";

const URI = "qemu:///system";
const guest = labGuests[0]!;
const agentCommand = async (name: string, execute: string) =>
  JSON.parse(await virsh(URI, "qemu-agent-command", name, JSON.stringify({ execute }))) as {
    return: unknown;
  };

let c: LibvirtClient;
guardLeaks(
  async () => {
    c = await LibvirtClient.open(URI);
  },
  () => c.close(),
);

test("through libvirt: ping, info, host name, OS and exec on a lab guest match virsh qemu-agent-command", async () => {
  const agent = new QgaClient(new QgaLibvirtTransport(c, await c.lookupByName(guest)));
  await agent.ping();
  const info = await agent.info();
  const theirs = (await agentCommand(guest, "guest-info")).return as {
    supported_commands: { name: string }[];
  };
  assert.deepEqual(
    info.supported_commands.map((x) => x.name).sort(),
    theirs.supported_commands.map((x) => x.name).sort(),
  );
  assert.deepEqual(
    await agent.call(QgaCommands.hostName, undefined),
    (await agentCommand(guest, "guest-get-host-name")).return,
  );
  assert.deepEqual(
    await agent.call(QgaCommands.osInfo, undefined),
    (await agentCommand(guest, "guest-get-osinfo")).return,
  );
  const r = await agent.exec(["/bin/sh", "-c", "echo $((6 * 7)); exit 3"]);
  assert.deepEqual(r, { exitcode: 3, stdout: "42\n", stderr: "" });
});

/** The next agent-lifecycle event of `name` with `state`, others skipped; bounded. */
async function nextAgentEvent(
  it: AsyncIterator<AgentLifecycleEvent>,
  name: string,
  state: number,
  ms = 90_000,
): Promise<AgentLifecycleEvent> {
  const deadline = Date.now() + ms;
  const seen: string[] = [];
  while (Date.now() < deadline) {
    const r = await Promise.race([
      it.next(),
      new Promise<null>((resolve) =>
        setTimeout(() => resolve(null), Math.max(1, deadline - Date.now())).unref(),
      ),
    ]);
    if (r === null || r.done) break;
    if (r.value.domain.name !== name) continue;
    seen.push(`${r.value.state}/${r.value.reason}`);
    if (r.value.state === state) return r.value;
  }
  throw new Error(`no agent-lifecycle state ${state} for ${name} within ${ms} ms (saw ${seen.join(", ")})`);
}

test("AGENT_LIFECYCLE events: connected at boot; disconnected and connected again when qemu-ga is killed in the guest", async () => {
  const name = `kvmon-test-${randomBytes(4).toString("hex")}`;
  const sub = await c.events(DomainEvents.AGENT_LIFECYCLE);
  const it = sub[Symbol.asyncIterator]();
  let dom: DomainRef | undefined;
  try {
    dom = await c.createXml(throwawayXml(name, { agentChannel: true }));
    const up = await nextAgentEvent(it, name, AgentLifecycleState.CONNECTED);
    assert.equal(up.domain.uuid, dom.uuid);
    const agent = new QgaClient(new QgaLibvirtTransport(c, dom));
    await agent.ping();
    // Backgrounded so guest-exec-status still gets its answer before the agent goes away.
    await agent.exec(["/bin/sh", "-c", "(sleep 1; killall qemu-ga) >/dev/null 2>&1 &"]);
    await nextAgentEvent(it, name, AgentLifecycleState.DISCONNECTED);
    await nextAgentEvent(it, name, AgentLifecycleState.CONNECTED); // busybox init respawns it
  } finally {
    sub.close();
    if (dom) await c.destroy(dom);
  }
});

/**
 * The client against live guests: guest-agent commands on a lab guest, its serial console as a two-way
 * stream, lifecycle events of a throwaway transient TCG domain (kvmon-test-*, booting the lab's kernel and
 * initramfs; never a lab guest), and write refusal on the read-only socket. Lab guests are left running as
 * found: the console is released after use and nothing else is changed on them.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { test } from "node:test";
import { promisify } from "node:util";
import {
  type DomainRef,
  ErrorCode,
  LibvirtClient,
  LibvirtError,
  type LibvirtStream,
  type LifecycleEvent,
  LifecycleEventType,
} from "../../src/protocol/libvirt/index.ts";
import { guardLeaks } from "../guards.ts";
import { labGuests } from "../lab.ts";
import { throwawayXml } from "../libvirt-helpers.ts";

const exec = promisify(execFile);
const URI = "qemu:///system";
const guest = labGuests[0]!;

let c: LibvirtClient;
guardLeaks(
  async () => {
    c = await LibvirtClient.open(URI);
  },
  () => c.close(),
);

test("guest agent: guest-ping and guest-info round-trip and match virsh qemu-agent-command", async () => {
  const dom = await c.lookupByName(guest);
  assert.deepEqual(JSON.parse((await c.qemuAgentCommand(dom, { execute: "guest-ping" }, 10))!), {
    return: {},
  });
  const info = JSON.parse((await c.qemuAgentCommand(dom, '{"execute":"guest-info"}', 10))!);
  assert.match(info.return.version, /^\d+\.\d+/);
  const cmds = (info.return.supported_commands as { name: string }[]).map((x) => x.name);
  assert.ok(cmds.includes("guest-ping") && cmds.includes("guest-info"), cmds.join(","));
  const { stdout } = await exec("virsh", [
    "-c",
    URI,
    "qemu-agent-command",
    guest,
    '{"execute":"guest-info"}',
  ]);
  assert.deepEqual(JSON.parse(stdout), info);
});

/** Reads the stream until `want` appears in the text (or fails after `ms`). */
async function readUntil(s: LibvirtStream, want: string, ms: number): Promise<string> {
  let text = "";
  const deadline = Date.now() + ms;
  while (!text.includes(want)) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const chunk = await Promise.race([
      s.read(),
      new Promise<"timeout">((r) => {
        timer = setTimeout(() => r("timeout"), left);
      }),
    ]).finally(() => clearTimeout(timer));
    if (chunk === "timeout" || chunk === null) break;
    text += chunk.toString("latin1");
  }
  assert.ok(
    text.includes(want),
    `console never showed ${JSON.stringify(want)}; got ${JSON.stringify(text.slice(-400))}`,
  );
  return text;
}

test("console stream: keystrokes reach the guest shell on ttyS0 and its output comes back", async () => {
  const dom = await c.lookupByName(guest);
  // force: take the console even if another client (or an interrupted run) holds it.
  const s = await c.openConsole(dom, { force: true });
  try {
    const a = randomInt(1000, 30000);
    const b = randomInt(1000, 30000);
    // The shell must evaluate the arithmetic: the tty's echo of our line alone cannot produce the sum.
    s.write(Buffer.from(`\recho kvmon-$((${a}+${b}))\r`));
    const text = await readUntil(s, `kvmon-${a + b}`, 30_000);
    assert.match(text, new RegExp(`echo kvmon-\\$\\(\\(${a}\\+${b}\\)\\)`), "the tty echoes our keystrokes");
  } finally {
    if (!s.closed) await s.finish();
  }
  assert.ok(s.closed);
  // Released: a second, non-forced open succeeds (libvirt refuses it while a session holds the console).
  const again = await c.openConsole(dom);
  await again.finish();
});

/** A transient TCG guest of our own booting the lab kernel + initramfs: no disk, no NIC, no agent. */
/**
 * Collects `name`'s events (ignoring other domains') until one of type `until` arrives, bounded. Returns
 * them as "TYPE/detail" pairs so a failure shows the whole sequence.
 */
async function eventsUntil(
  it: AsyncIterator<LifecycleEvent>,
  name: string,
  until: number,
  ms = 30_000,
): Promise<LifecycleEvent[]> {
  const seen: LifecycleEvent[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      it.next(),
      new Promise<"timeout">((res) => {
        timer = setTimeout(() => res("timeout"), Math.max(0, deadline - Date.now()));
      }),
    ]).finally(() => clearTimeout(timer));
    const got = seen.map((e) => `${e.event}/${e.detail}`).join(" ");
    if (r === "timeout") assert.fail(`no event ${until} for ${name} within ${ms} ms (got: ${got})`);
    if (r.done) assert.fail(`event stream ended while waiting for ${name} (got: ${got})`);
    if (r.value.domain.name !== name) continue;
    seen.push(r.value);
    if (r.value.event === until) return seen;
  }
}

test("lifecycle events arrive for a throwaway QEMU domain: started, suspended, resumed, stopped", async (t) => {
  const name = `kvmon-test-${randomBytes(4).toString("hex")}`;
  const E = LifecycleEventType;
  const sub = await c.lifecycleEvents();
  const it = sub[Symbol.asyncIterator]();
  let dom: DomainRef | undefined;
  const all: LifecycleEvent[] = [];
  try {
    dom = await c.createXml(throwawayXml(name));
    // QEMU starts with CPUs paused and libvirt then resumes them: RESUMED/UNPAUSED precedes STARTED/BOOTED.
    all.push(...(await eventsUntil(it, name, E.STARTED)));
    assert.equal(all.at(-1)!.detail, 0 /* BOOTED */);
    assert.equal(all.at(-1)!.domain.uuid, dom.uuid);
    assert.equal(all.at(-1)!.domain.id, dom.id);
    await c.suspend(dom);
    all.push(...(await eventsUntil(it, name, E.SUSPENDED)));
    assert.equal(all.at(-1)!.detail, 0 /* PAUSED */);
    assert.equal((await c.domainState(dom)).state, 3);
    await c.resume(dom);
    all.push(...(await eventsUntil(it, name, E.RESUMED)));
    assert.equal(all.at(-1)!.detail, 0 /* UNPAUSED */);
    // No agent channel: a typed "agent unavailable" error, not a hang.
    await assert.rejects(
      c.qemuAgentCommand(dom, { execute: "guest-ping" }, 2),
      (e) => e instanceof LibvirtError && e.isAgentUnavailable(),
    );
    await c.destroy(dom);
    dom = undefined;
    // QEMU may report SHUTDOWN (host signal) just before libvirt's STOPPED.
    const tail = await eventsUntil(it, name, E.STOPPED);
    all.push(...tail);
    assert.equal(all.at(-1)!.detail, 1 /* DESTROYED */);
    assert.equal(all.at(-1)!.domain.id, -1);
    assert.ok(
      tail.every((e) => e.event === E.SHUTDOWN || e.event === E.STOPPED),
      JSON.stringify(tail),
    );
    // Transient: gone once stopped.
    await assert.rejects(c.lookupByName(name), (e) => e instanceof LibvirtError && e.isNoDomain());
    t.diagnostic(`events (type/detail): ${all.map((e) => `${e.event}/${e.detail}`).join(" ")}`);
  } finally {
    sub.close();
    if (dom) await c.destroy(dom).catch(() => {});
  }
});

test("read-only socket refuses writes with OPERATION_DENIED naming the API, and changes nothing", async () => {
  const ro = await LibvirtClient.open(URI, { readOnly: true });
  try {
    const dom = await ro.lookupByName(guest);
    for (const [write, api] of [
      [() => ro.suspend(dom), "virDomainSuspend"],
      [() => ro.destroy(dom), "virDomainDestroy"],
      [() => ro.qemuAgentCommand(dom, { execute: "guest-ping" }), "virDomainQemuAgentCommand"],
      [() => ro.openConsole(dom, { force: true }), "virDomainOpenConsole"],
    ] as const) {
      await assert.rejects(write(), (e) => {
        assert.ok(e instanceof LibvirtError, String(e));
        assert.equal(e.libvirtCode, ErrorCode.OPERATION_DENIED);
        assert.ok(e.isAccessDenied());
        assert.equal(e.message, `operation forbidden: read only access prevents ${api}`);
        return true;
      });
    }
    assert.equal((await ro.domainState(dom)).state, 1, `${guest} still running`);
  } finally {
    await ro.close();
  }
});

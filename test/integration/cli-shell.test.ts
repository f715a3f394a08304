/**
 * `kvmon shell` on the lab, in a real terminal (tmux): enter a VM, run commands there (output, stderr, exit
 * codes), leave; through the agent's control API (the agent's audit log records each command) and directly
 * through libvirt as root (the shell appends the records itself). `monitor-all` prints every VM with figures
 * that agree with the guest's own /proc/meminfo and /proc/net/dev, read through the guest agent.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadConfig } from "../../src/agent/config.ts";
import type { AuditRecord } from "../../src/agent/control/audit.ts";
import type { RunningAgent } from "../../src/agent/server.ts";
import { startTestAgent, SYSTEM_URI } from "../agent-helpers.ts";
import { guestSh } from "../guest-helpers.ts";
import { labGuests } from "../lab.ts";
import { TmuxPane } from "../tmux.ts";

const guest = labGuests[0]!;
const TOKEN = "kvmon-shell-test-token-0123456789";
let dir: string;
let agentAudit: string;
let base: string;
let agent: RunningAgent;
const panes: TmuxPane[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-cli-shell-"));
  agentAudit = join(dir, "agent-audit.log");
  const config = loadConfig({
    flags: { listen: "127.0.0.1:0", interval: "2", "audit-log": agentAudit },
    env: { KVMON_URI: SYSTEM_URI, KVMON_CONTROL_TOKEN: TOKEN, KVMON_GUEST: "true", KVMON_GUEST_EXEC: "true" },
  });
  // Every guest-view tier at 2 s, so monitor-all shows the guest's /proc figures within seconds.
  const tiers = { fastSeconds: 2, mediumSeconds: 2, slowSeconds: 2 };
  const g = { ...config.guest, ...tiers, callTimeoutSeconds: Math.min(config.guest.callTimeoutSeconds, 2) };
  const started = await startTestAgent({ ...config, guest: g });
  agent = started.running;
  base = started.base;
});

after(async () => {
  for (const p of panes) await p.kill();
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function shellPane(args: string, env: Record<string, string> = {}): Promise<TmuxPane> {
  const pane = await TmuxPane.start(await mkdtemp(join(dir, "pane-")), `shell ${args}`, { env });
  panes.push(pane);
  await pane.waitFor(/^kvmon>$/m, 20_000);
  return pane;
}

async function auditRecords(path: string): Promise<AuditRecord[]> {
  return (await readFile(path, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);
}

/** Enters `guest`, runs a command with output and one failing on stderr, leaves. */
async function enterRunLeave(pane: TmuxPane, marker: string): Promise<void> {
  await pane.line(`enter ${guest}`);
  await pane.waitFor(new RegExp(`^kvmon\\(${guest}\\)>$`, "m"), 30_000);
  await pane.line(`echo ${marker}-$((6*7)); uname -s`);
  await pane.waitFor(new RegExp(`^${marker}-42\\nLinux\\n`, "m"), 30_000);
  await pane.line("echo oops >&2; exit 4");
  const screen = await pane.waitFor(/^\[exit 4\]$/m, 30_000);
  assert.match(screen, /^oops\n\[exit 4\]$/m);
  await pane.line("leave");
  await pane.waitFor(new RegExp(`^left ${guest}\\nkvmon>$`, "m"), 10_000);
}

test("through the agent: enter, run, leave; the agent's audit log has each command", async () => {
  const pane = await shellPane(`--agent ${base}`, { KVMON_CONTROL_TOKEN: TOKEN });
  await pane.line("enter lab1");
  await pane.waitFor(/hint: did you mean: kvmon-lab-1\?/, 20_000);
  await enterRunLeave(pane, "via-agent");
  assert.match(await pane.capture(40), new RegExp(`entered ${guest} through agent ${base}`));
  const records = (await auditRecords(agentAudit)).filter((r) => r.guest === guest && r.action === "exec");
  const ran = records.map((r) => [(r.what.args as string[])[1], r.exitCode, r.outcome]);
  assert.deepEqual(ran.slice(-3), [
    ["true", 0, "ok"],
    ["echo via-agent-$((6*7)); uname -s", 0, "ok"],
    ["echo oops >&2; exit 4", 4, "ok"],
  ]);
  await pane.line("exit");
  await pane.waitFor(/KVMON-EXIT=0/, 10_000);
  const { before, after } = await pane.stty();
  assert.equal(after, before, "stty -a after the shell = before");
});

test("without an agent, as root: directly through libvirt, each command appended to the audit log", async () => {
  const audit = join(dir, "direct-audit.log");
  const pane = await shellPane(`--local --audit-log ${audit}`);
  await enterRunLeave(pane, "direct");
  const records = await auditRecords(audit);
  assert.deepEqual(
    records.map((r) => [
      r.who,
      r.from,
      r.action,
      r.guest,
      (r.what.args as string[])[1],
      r.exitCode,
      r.outcome,
    ]),
    [
      ["unix:root", "local", "exec", guest, "true", 0, "ok"],
      ["unix:root", "local", "exec", guest, "echo direct-$((6*7)); uname -s", 0, "ok"],
      ["unix:root", "local", "exec", guest, "echo oops >&2; exit 4", 4, "ok"],
    ],
  );
  await pane.send("C-d");
  await pane.waitFor(/KVMON-EXIT=0/, 10_000);
});

/** The figures of one VM's block in a monitor-all screen (the last block printed for it). */
function blockOf(screen: string, name: string): { memTotalKb: number; nics: Map<string, number> } | null {
  const start = screen.lastIndexOf(`\n${name}  running`);
  if (start < 0) return null;
  const block = screen.slice(start + 1).split("\n\n")[0]!;
  const mem = /memory {2}total (\d+) kB .*\(guest \/proc\/meminfo\)/.exec(block);
  if (!mem) return null;
  const nics = new Map<string, number>();
  for (const m of block.matchAll(/net +(\S+) +rx (\d+) B .*\(guest\)/g)) nics.set(m[1]!, Number(m[2]));
  return nics.size > 0 ? { memTotalKb: Number(mem[1]), nics } : null;
}

test("monitor-all prints every VM, with the guest's /proc/meminfo and /proc/net/dev figures", async () => {
  const pane = await shellPane(`--agent ${base} -d 2`, { KVMON_CONTROL_TOKEN: TOKEN });
  await pane.line("monitor-all");
  const screen = await pane.waitFor((s) => labGuests.every((g) => blockOf(s, g) !== null), 60_000, 200);
  const domains = agent.agent.snapshot()!.domains.map((d) => d.name);
  for (const d of domains) assert.match(screen, new RegExp(`^${d}  `, "m"), `${d} has a block`);
  for (const g of labGuests) {
    const b = blockOf(screen, g)!;
    const meminfo = await guestSh(g, "cat /proc/meminfo");
    const memTotalKb = Number(/^MemTotal:\s+(\d+) kB$/m.exec(meminfo)![1]);
    assert.equal(b.memTotalKb, memTotalKb, `${g}: MemTotal`);
    const netdev = await guestSh(g, "cat /proc/net/dev");
    for (const [nic, rx] of b.nics) {
      const line = netdev.split("\n").find((l) => l.trim().startsWith(`${nic}:`));
      assert.ok(line, `${g}: ${nic} in /proc/net/dev`);
      const procRx = Number(line.split(":")[1]!.trim().split(/\s+/)[0]);
      // /proc read after the block: the same counter, at most a few neighbour discoveries later.
      assert.ok(
        procRx >= rx && procRx - rx <= 64 * 1024,
        `${g} ${nic}: block rx ${rx}, /proc/net/dev ${procRx}`,
      );
    }
  }
  await pane.send("x");
  await pane.waitFor(/\nkvmon>$/m, 10_000);
  await pane.line("exit");
  await pane.waitFor(/KVMON-EXIT=0/, 10_000);
});

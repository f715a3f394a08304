/**
 * `kvmon top` on the lab, in a real terminal (tmux): it lists the lab VMs, a guest put under CPU load rises to
 * the top when sorted by CPU with `P`, and the terminal is given back as it was (stty -a before = after) on `q`
 * and on SIGTERM. `top --once --json` agrees with the agent's API at the same moment, and the in-process
 * collection (--local) agrees with the agent on what does not move between two samples.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/agent/config.ts";
import type { RunningAgent } from "../../src/agent/server.ts";
import { run } from "../../src/cli/run.ts";
import { vmRow, type VmRow } from "../../src/cli/top/rows.ts";
import { captureIo } from "../../src/cli/testing.ts";
import { burnCpu, stopWorkload } from "../../src/lab/workload.ts";
import type { DomainSample } from "../../src/model/types.ts";
import { startTestAgent, SYSTEM_URI } from "../agent-helpers.ts";
import { labGuests } from "../lab.ts";
import { TmuxPane } from "../tmux.ts";

let dir: string;
const panes: TmuxPane[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-cli-top-"));
});

after(async () => {
  for (const p of panes) await p.kill();
  await rm(dir, { recursive: true, force: true });
});

async function topPane(args: string): Promise<TmuxPane> {
  const paneDir = await mkdtemp(join(dir, "pane-"));
  const pane = await TmuxPane.start(paneDir, `top ${args}`);
  panes.push(pane);
  return pane;
}

/** The table's first data row's VM name (the line after the NAME header). */
function firstRow(screen: string): string | undefined {
  const lines = screen.split("\n");
  const h = lines.findIndex((l) => l.startsWith("NAME "));
  return h < 0 ? undefined : lines[h + 1]?.split(/\s+/)[0];
}

test("top shows the lab VMs; a guest under CPU load rises to the top with P; q gives the terminal back", async () => {
  const loaded = labGuests.at(-1)!; // last by name: sorted by name it is not first
  const pane = await topPane("-d 1 -o name --local");
  const screen = await pane.waitFor((s) => labGuests.every((g) => s.includes(g)), 30_000);
  assert.match(screen, /source: in-process collection from qemu:\/\/\/system/);
  assert.match(screen, /sort: NAME/);
  assert.notEqual(firstRow(screen), loaded);
  try {
    await burnCpu(loaded, 1, { seconds: 60, tag: "cli-top" });
    await pane.send("P");
    // First row, and there because of the load: busy (an idle lab guest uses about 1%).
    const cpuOf = (screen: string, vm: string) =>
      Number(
        screen
          .split("\n")
          .find((l) => l.startsWith(`${vm} `))
          ?.split(/\s+/)[2],
      );
    const sorted = await pane.waitFor(
      (s) => /sort: %CPU/.test(s) && firstRow(s) === loaded && cpuOf(s, loaded) > 20,
      60_000,
    );
    for (const other of labGuests.filter((g) => g !== loaded))
      assert.ok(cpuOf(sorted, other) < cpuOf(sorted, loaded), sorted);
  } finally {
    await stopWorkload(loaded, { tag: "cli-top" });
  }
  await pane.send("q");
  await pane.waitFor(/KVMON-EXIT=0/, 10_000);
  const { before, after } = await pane.stty();
  assert.equal(after, before, "stty -a after top = before");
});

test("the per-vCPU view (1), the name filter (/) and a resize work on the live table", async () => {
  const pane = await topPane("-d 1 --local");
  await pane.waitFor((s) => labGuests.every((g) => s.includes(g)), 30_000);
  await pane.send("1");
  const vcpus = await pane.waitFor(/view: vCPUs/, 10_000);
  assert.match(vcpus, /^NAME +VCPU +STATE/m);
  assert.match(vcpus, new RegExp(`^${labGuests[0]} +0 +(running|blocked|offline)`, "m"));
  await pane.send("0", "/");
  await pane.line(labGuests[1]!);
  const filtered = await pane.waitFor(new RegExp(`filter: name ~ '${labGuests[1]}'`), 10_000);
  assert.ok(!filtered.includes(`${labGuests[0]} `), filtered);
  // The table follows the terminal's size: cut to a narrow one, whole again in a wide one.
  await pane.resize(50, 20);
  await pane.waitFor((scr) => /^NAME +STATE +%CPU/m.test(scr) && !scr.includes("TXBY/s"), 10_000);
  await pane.resize(150, 30);
  await pane.waitFor(/^NAME .* TXBY\/s +EXIT\/s +TIME$/m, 10_000);
  await pane.send("q");
  await pane.waitFor(/KVMON-EXIT=0/, 10_000);
});

test("SIGTERM to a running top gives the terminal back too", async () => {
  const pane = await topPane("-d 1 --local");
  await pane.waitFor((s) => labGuests.every((g) => s.includes(g)), 30_000);
  process.kill(await pane.commandPid(), "SIGTERM");
  await pane.waitFor(/KVMON-EXIT=0/, 10_000);
  const { before, after } = await pane.stty();
  assert.equal(after, before);
  assert.ok(!(await pane.capture()).includes("NAME "), "back on the main screen");
});

/** The agent's domains and `top --once --json` read right after, from the same agent snapshot. */
async function agentAndTop(base: string): Promise<{ api: DomainSample[]; vms: VmRow[]; source: string }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const res = (await (await fetch(`${base}/api/v1/domains`)).json()) as {
      collectedAt: number;
      domains: DomainSample[];
    };
    const io = captureIo();
    assert.equal(await run(["top", "--once", "--json", "--agent", base], io), 0, io.stderr);
    const json = JSON.parse(io.stdout) as { source: string; collectedAt: string; vms: VmRow[] };
    // An agent collection between the two reads: try again (the interval is 5 s, the reads take ms).
    if (json.collectedAt === new Date(res.collectedAt).toISOString())
      return { api: res.domains, vms: json.vms, source: json.source };
  }
  throw new Error("the agent collected between every pair of reads");
}

test("top --once --json agrees with the agent's API at the same moment, and --local with the agent", async () => {
  const config = loadConfig({
    flags: { listen: "127.0.0.1:0", interval: "5" },
    env: { KVMON_URI: SYSTEM_URI },
  });
  let running: RunningAgent | null = null;
  try {
    const started = await startTestAgent(config);
    running = started.running;
    // Two collections, so the agent has rates.
    const hasRates = () =>
      labGuests.every(
        (g) => running!.agent.snapshot()?.domains.find((d) => d.name === g)?.cpu?.hostCpuRatio != null,
      );
    for (let i = 0; i < 80 && !hasRates(); i++) await sleep(250);
    assert.ok(hasRates(), "the agent's second collection");
    const { api, vms, source } = await agentAndTop(started.base);
    assert.equal(source, "agent");
    assert.equal(vms.length, api.length);
    for (const d of api) {
      const row = vms.find((v) => v.name === d.name);
      assert.deepEqual(row, vmRow(d), `${d.name}: top's numbers are the API's`);
    }
    for (const g of labGuests) {
      const row = vms.find((v) => v.name === g)!;
      assert.equal(row.state, "running");
      assert.ok(row.cpuPercent !== null && row.memoryTotalBytes !== null, JSON.stringify(row));
    }
    // In-process: the same code on its own samples; what does not move between samples is equal.
    const io = captureIo();
    assert.equal(await run(["top", "--once", "--json", "--local", "-d", "1"], io), 0, io.stderr);
    const local = JSON.parse(io.stdout) as { source: string; origin: string; vms: VmRow[] };
    assert.deepEqual([local.source, local.origin], ["local", SYSTEM_URI]);
    for (const g of labGuests) {
      const a = vms.find((v) => v.name === g)!;
      const l = local.vms.find((v) => v.name === g)!;
      assert.deepEqual([l.state, l.vcpus, l.memorySource], [a.state, a.vcpus, a.memorySource], g);
      assert.ok(Math.abs(l.memoryTotalBytes! - a.memoryTotalBytes!) <= 4 * 1024 * 1024, `${g} memory total`);
      assert.ok(
        l.cpuTimeSeconds! >= a.cpuTimeSeconds! && l.cpuTimeSeconds! - a.cpuTimeSeconds! < 30,
        `${g} cpu time`,
      );
    }
  } finally {
    await running?.stop();
  }
});

test("no agent and no libvirt: one error that says how to start either", async () => {
  const io = captureIo();
  const code = await run(["top", "--once", "--uri", "qemu+unix:///system?socket=/nonexistent/sock"], io);
  // A local agent on the default address would be used instead: then this case cannot be shown here.
  if (io.stdout.includes("source: agent")) return;
  assert.equal(code, 1);
  assert.match(
    io.stderr,
    /^kvmon: \[NO_VIEW_SOURCE\] no kvmon agent answers at http:\/\/127\.0\.0\.1:9477 and libvirt at/,
  );
  assert.match(io.stderr, /hint: start an agent \('kvmon agent'/);
});

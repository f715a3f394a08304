/**
 * bench/guest-agent: one guest cycle per guest through the guest view (src/collectors/guest), through libvirt
 * (DOMAIN_GET_GUEST_INFO + QEMU_DOMAIN_AGENT_COMMAND on a read-write connection, to the lab guests' qemu-ga over
 * virtio-serial) vs directly over unix sockets (socketGuestChannel, to real `qemu-ga -m unix-listen` processes
 * on the host: 2 of them beside the lab's 2 guests, and --agents of them for the fleet target). cycles.ts says
 * what a cycle is and what each number includes. The lab guests cannot be reached over a socket of our own:
 * libvirt holds their only agent channel, and QEMU's socket chardev serves one client.
 *
 *   .tools/node/bin/node bench/guest-agent/run.ts --help     # the options and their defaults
 *
 * Needs root (qemu-ga's guest-file commands, libvirtd's schedstat), qemu-guest-agent installed on the host and
 * the lab up (`./bin/kvmon lab up`). Take the integration lock: `flock /tmp/kvmon-integration.lock ...`.
 */
import { openLibvirtGuestChannels } from "../../src/collectors/guest/libvirt-channel.ts";
import { socketGuestChannel } from "../../src/collectors/guest/index.ts";
import type { DomainTarget } from "../../src/collectors/types.ts";
import { DomainStatsFlag, LibvirtClient } from "../../src/protocol/libvirt/index.ts";
import { benchArgs, commandOutput, debVersion, logger } from "../lib/cli.ts";
import { waitFor } from "../lib/http.ts";
import { startAgentFleet } from "./agents.ts";
import { type CycleRunOptions, type CycleSample, libvirtdIdleRate, runCycles } from "./cycles.ts";
import { cycleTable, targetsTable } from "./report.ts";

const opt = benchArgs("bench/guest-agent/run.ts", {
  numbers: { agents: 200, rounds: 4, "fast-per-full": 5, pause: 500, "call-timeout": 2, idle: 5 },
  strings: { uri: "qemu:///system" },
  flags: { "skip-lab": false },
});
const log = logger("bench");
const callTimeoutMs = opt["call-timeout"] * 1000;

/** The running lab guests (kvmon-lab-*), as the agent would ask about them. */
async function labTargets(): Promise<DomainTarget[]> {
  const c = await LibvirtClient.open(opt.uri, { readOnly: true });
  try {
    const doms = await c.listAllDomains(DomainStatsFlag.ACTIVE);
    return doms.filter((d) => d.name.startsWith("kvmon-lab-")).sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    await c.close();
  }
}

const fakeTargets = (n: number): DomainTarget[] =>
  Array.from({ length: n }, (_, i) => ({
    name: `qga-${i}`,
    uuid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    id: 1,
  }));

type Common = Omit<CycleRunOptions, "targets" | "channel" | "agentPids" | "libvirtdIdleMsPerS">;

async function libvirtMethod(common: Common): Promise<{ guests: number; samples: CycleSample[] }> {
  const targets = await labTargets();
  if (targets.length === 0) throw new Error(`no running kvmon-lab-* domain on ${opt.uri}: kvmon lab up`);
  const channels = openLibvirtGuestChannels(opt.uri, callTimeoutMs);
  try {
    // The connection opens in the background; a ping through a throwaway channel says it is up.
    await waitFor(
      "read-write libvirt connection",
      async () => (await channels.channel(targets[0]!).qga.ping(), true),
    );
    const samples = await runCycles({
      ...common,
      targets,
      channel: (t) => channels.channel(t),
      libvirtdIdleMsPerS: idle,
    });
    return { guests: targets.length, samples };
  } finally {
    await channels.close();
  }
}

async function socketMethod(n: number, common: Common): Promise<{ guests: number; samples: CycleSample[] }> {
  const fleet = await startAgentFleet(n, log);
  try {
    const targets = fakeTargets(n);
    const samples = await runCycles({
      ...common,
      targets,
      channel: (t) => socketGuestChannel(fleet.sockets[targets.indexOf(t)]!, callTimeoutMs),
      agentPids: fleet.pids,
      libvirtdIdleMsPerS: null,
    });
    return { guests: n, samples };
  } finally {
    await fleet.stop();
  }
}

console.log(`# bench/guest-agent (${new Date().toISOString()})\n`);
console.log(
  `kvmon (Node ${process.versions.node}), libvirt ${debVersion("libvirt-daemon")}, host ` +
    `${commandOutput("qemu-ga", ["--version"])}; ${commandOutput("nproc", [])} CPUs. Per method: 1 first-contact ` +
    `cycle, then ${opt.rounds} rounds of 1 full + ${opt["fast-per-full"]} fast cycles, ${opt.pause} ms apart; ` +
    `call timeout ${opt["call-timeout"]} s.\n`,
);
log(`libvirtd idle rate over ${opt.idle} s`);
const idle = await libvirtdIdleRate(opt.idle * 1000);
console.log(`libvirtd idle: ${idle.toFixed(2)} ms CPU per s (subtracted from each cycle).\n`);
const common: Common = {
  callTimeoutMs,
  rounds: opt.rounds,
  fastPerFull: opt["fast-per-full"],
  pauseMs: opt.pause,
  log,
};
const runs: { method: string; guests: number; samples: CycleSample[] }[] = [];
if (!opt["skip-lab"]) {
  log("libvirt: lab guests");
  runs.push({ method: "libvirt (lab guests)", ...(await libvirtMethod(common)) });
  log("socket: 2 host agents");
  runs.push({ method: "socket (host qemu-ga)", ...(await socketMethod(2, common)) });
}
log(`socket: ${opt.agents} host agents`);
const fleet = { method: "socket (host qemu-ga)", ...(await socketMethod(opt.agents, common)) };
runs.push(fleet);
for (const r of runs) console.log(`${cycleTable(r.method, r.guests, r.samples)}\n`);
console.log(
  `${targetsTable(
    fleet,
    runs.find((r) => r.method.startsWith("libvirt")),
  )}\n`,
);

/** `kvmon lab`: a real virtualization lab on this host (libvirtd, QEMU TCG guests with qemu-ga, a KVM guest). */
import { checkHost, formatHostProblem } from "../../host-checks/index.ts";
import { DEFAULT_VMS, MAX_VMS } from "../../lab/config.ts";
import { labContext } from "../../lab/context.ts";
import { labDown, labKvmStart, labKvmStop, labUp } from "../../lab/lab.ts";
import { progressReporter } from "../../lab/progress.ts";
import { formatStatus, labStatus } from "../../lab/status.ts";
import { burnCpu, readDisk, sendNetwork, stopWorkload, writeDisk } from "../../lab/workload.ts";
import { type CliIo, type Command, intFlag, parseCommandArgs } from "../command.ts";
import { CliError, UsageError } from "../errors.ts";

const HELP = `Usage: kvmon lab <subcommand> [options]

Builds and runs real VMs on this host: libvirtd, QEMU (TCG) guests with qemu-ga, and an optional KVM guest.
Needs root. Cache: /var/lib/kvmon/lab (env KVMON_LAB_DIR).

Subcommands:
  up [--vms N] [--kvm] [--rebuild]   install packages, start daemons, build/reuse the image, start
                                     kvmon-lab-1..N (default ${DEFAULT_VMS}) and wait for their agents
  status                             lab domains: state, type, vCPUs, memory, agent ping
  down [--daemons]                   destroy and undefine lab domains, remove their disks
                                     (--daemons: also stop libvirtd and virtlogd)
  kvm start|stop                     the KVM boot-sector guest kvmon-lab-kvm (keeps a host core busy)
  load <vm> cpu N [--seconds S]      N busy loops in the guest (default 120 s)
  load <vm> disk MIB [--read]        write (or read) MIB MiB on the guest's data disk
  load <vm> net in|out [--packets N] [--size B]
                                     raw L2 frames host->guest, or IPv6 link-local pings guest->host
  load <vm> stop                     end the guest's background workloads
`;

export const labCommand: Command = {
  name: "lab",
  summary: "build and run a lab of real VMs (libvirtd, QEMU, qemu-ga guests)",
  help: () => HELP,
  handler: async (argv, io) => {
    const [sub, ...rest] = argv;
    switch (sub) {
      case "up":
        return up(rest, io);
      case "down":
        return down(rest, io);
      case "status":
        return status(rest, io);
      case "kvm":
        return kvm(rest, io);
      case "load":
        return load(rest, io);
      default:
        throw new UsageError(
          sub ? `lab: unknown subcommand '${sub}'` : "lab: missing subcommand (up, status, down, kvm, load)",
        );
    }
  },
};

function ctxFor(io: CliIo) {
  return labContext(progressReporter(io.err));
}

async function up(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs("lab up", argv, {
    vms: { type: "string" },
    kvm: { type: "boolean" },
    rebuild: { type: "boolean" },
  });
  noPositionals("lab up", positionals);
  const vms = intFlag("vms", values.vms, DEFAULT_VMS, 1, MAX_VMS);
  const result = await labUp(ctxFor(io), { vms, kvm: values.kvm, rebuild: values.rebuild });
  io.out(`lab up: ${result.guests.join(", ")} (${result.seconds.toFixed(1)} s)\n`);
  return 0;
}

async function down(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs("lab down", argv, { daemons: { type: "boolean" } });
  noPositionals("lab down", positionals);
  const removed = await labDown(ctxFor(io), { daemons: values.daemons });
  io.out(removed.length ? `lab down: removed ${removed.join(", ")}\n` : "lab down: no lab domains\n");
  return 0;
}

async function status(argv: string[], io: CliIo): Promise<number> {
  const { positionals } = parseCommandArgs("lab status", argv, {});
  noPositionals("lab status", positionals);
  // Before asking libvirtd anything: with such a problem its answers take a minute.
  for (const p of await checkHost()) io.out(`${formatHostProblem(p)}\n`);
  const rows = await labStatus(ctxFor(io));
  if (!rows) {
    io.out("libvirtd is not running (start the lab with 'kvmon lab up')\n");
    return 1;
  }
  io.out(formatStatus(rows));
  return 0;
}

async function kvm(argv: string[], io: CliIo): Promise<number> {
  const { positionals } = parseCommandArgs("lab kvm", argv, {});
  const ctx = ctxFor(io);
  if (positionals.length !== 1 || (positionals[0] !== "start" && positionals[0] !== "stop")) {
    throw new UsageError("lab kvm: expected 'start' or 'stop'");
  }
  if (positionals[0] === "start") await labKvmStart(ctx);
  else await labKvmStop(ctx);
  return 0;
}

async function load(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs("lab load", argv, {
    seconds: { type: "string" },
    read: { type: "boolean" },
    packets: { type: "string" },
    size: { type: "string" },
  });
  const [vm, kind, arg] = positionals;
  if (!vm || !kind) throw new UsageError("lab load: expected '<vm> cpu N | disk MIB | net in|out | stop'");
  if (!vm.startsWith("kvmon-lab-"))
    throw new UsageError(`lab load: '${vm}' is not a lab guest (kvmon-lab-N)`);
  switch (kind) {
    case "cpu": {
      const n = intFlag("cpu N", arg, 0, 1, 64);
      if (n === 0) throw new UsageError("lab load cpu: how many workers? e.g. 'cpu 2'");
      const seconds = intFlag("seconds", values.seconds, 120, 1, 3600);
      await burnCpu(vm, n, { seconds });
      io.out(`${vm}: ${n} CPU worker(s) for up to ${seconds} s ('kvmon lab load ${vm} stop' ends them)\n`);
      return 0;
    }
    case "disk": {
      const mib = intFlag("disk MIB", arg, 0, 1, 1024);
      if (mib === 0) throw new UsageError("lab load disk: how many MiB? e.g. 'disk 16'");
      const r = values.read ? await readDisk(vm, mib) : await writeDisk(vm, mib);
      const rate = r.seconds > 0 ? (r.bytes / 1024 / 1024 / r.seconds).toFixed(1) : "?";
      io.out(`${vm}: ${values.read ? "read" : "wrote"} ${r.bytes} bytes in ${r.seconds} s (${rate} MiB/s)\n`);
      return 0;
    }
    case "net": {
      if (arg !== "in" && arg !== "out") throw new UsageError("lab load net: expected 'in' or 'out'");
      const packets = intFlag("packets", values.packets, 1000, 1, 1_000_000);
      const size = values.size === undefined ? undefined : intFlag("size", values.size, 0, 8, 1514);
      const r = await sendNetwork(vm, { direction: arg, packets, size });
      io.out(
        `${vm}: sent ${r.sent} ${arg === "in" ? "frames to the guest" : "echo requests"}` +
          `${r.received === undefined ? "" : `, ${r.received} replies`}\n`,
      );
      return 0;
    }
    case "stop":
      await stopWorkload(vm);
      io.out(`${vm}: workloads stopped\n`);
      return 0;
    default:
      throw new CliError(`lab load: unknown workload '${kind}'`, { hint: "cpu, disk, net or stop" });
  }
}

function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`${command}: unexpected argument '${positionals[0]}'`);
}

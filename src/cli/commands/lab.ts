/** `kvmon lab`: placeholder until the lab lands (owned by the lab work). */
import type { Command } from "../command.ts";

export const labCommand: Command = {
  name: "lab",
  summary: "build and run a lab of real VMs (libvirtd, QEMU, qemu-ga guests)",
  help: () => "Usage: kvmon lab up|status|down\n",
  handler: async (_argv, io) => {
    io.err("kvmon lab: not built yet\n");
    return 1;
  },
};

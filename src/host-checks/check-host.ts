import { checkKvmDevice, checkTunDevice, type DeviceCheckOptions, type HostProblem } from "./devices.ts";
import { checkTracefs } from "./tracefs.ts";

export interface HostCheckOptions extends DeviceCheckOptions {
  /** The mount table to read (tests point it elsewhere). */
  procMounts?: string;
}

/**
 * Every set-up problem of this host, in a stable order: empty when it is set up like a host with udev and
 * systemd (device nodes, tracefs).
 */
export async function checkHost(opts: HostCheckOptions = {}): Promise<HostProblem[]> {
  const found = await Promise.all([
    checkKvmDevice(opts),
    checkTunDevice(opts),
    checkTracefs(opts.procMounts),
  ]);
  return found.filter((p): p is HostProblem => p !== undefined);
}

/**
 * The lab's public surface for tests, benchmarks and the CLI: bring the lab up and down, drive workloads in
 * its guests, and the libvirt interface that the native client will implement later.
 */
export { type ExecResult, guestExec as agentGuestExec, pingAgent, waitForAgent } from "./agent.ts";
export { DEFAULT_VMS, guestNames, KVM_GUEST_NAME, LAB_NS, LAB_PREFIX, labPaths } from "./config.ts";
export { AgentError, CommandError, LabError, LabTimeoutError, LibvirtError } from "./errors.ts";
export { kvmUnavailableReason } from "./kvm-guest.ts";
export {
  type LabContext,
  labContext,
  labDown,
  labKvmStart,
  labKvmStop,
  labKvmStopUnleased,
  labUp,
  type UpOptions,
  type UpResult,
  withKvmLease,
} from "./lab.ts";
export { progressReporter } from "./progress.ts";
export { formatStatus, labStatus, type StatusRow } from "./status.ts";
export { type LabLibvirt, virshLibvirt } from "./virsh.ts";
export {
  burnCpu,
  cpuWorkers,
  guestExec,
  readDisk,
  sendNetwork,
  stopWorkload,
  writeDisk,
} from "./workload.ts";

/**
 * Host set-up checks shared by the lab (which fixes what it finds) and the agent (which names what it finds at
 * start-up): problems a host without udev or with a partial libvirt install has, which otherwise show up only
 * as timeouts. Reads files only; knows nothing of libvirt's protocol, the agent or the lab.
 */
export {
  canReadWrite,
  checkKvmDevice,
  checkTunDevice,
  formatHostProblem,
  type HostProblem,
  KVM_DEVICE,
  KVM_GROUP,
  KVM_MODE,
  TUN_DEVICE,
} from "./devices.ts";
export { groupId, type QemuIdentity, readQemuIdentity, resolveQemuIdentity } from "./qemu-user.ts";
export { checkTracefs, TRACEFS_MOUNT, tracefsMounts } from "./tracefs.ts";
export { checkHost } from "./check-host.ts";

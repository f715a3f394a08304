/**
 * The guest view's metric families (kvmon_guest_*). Guest-supplied names appear only as label values, already
 * bounded (limits.ts boundText) and escaped by the exposition writer; the series of guest-labelled families are
 * capped per guest (GuestLimits.labelledSeriesPerGuest), so no guest can flood /metrics.
 */
import { type Emit, emitPresent, gauge, counter, type MetricSpec } from "../../metrics/catalog.ts";
import type { GuestAgentStatus, GuestSample } from "../../model/types.ts";
import { CPU_MODES } from "./cpu.ts";
import { GuestLimits } from "./limits.ts";

const STATUSES: readonly GuestAgentStatus[] = ["connected", "unresponsive", "absent"];
const FS = ["mountpoint", "device", "fstype"];

export const gm = {
  agentStatus: gauge(
    "kvmon_guest_agent_status",
    "1 for the guest agent's current status, 0 for the others.",
    {
      labels: ["status"],
      source:
        "guest-info answered (connected), timed out (unresponsive), not connected (absent); AGENT_LIFECYCLE",
    },
  ),
  agentInfo: gauge("kvmon_guest_agent_info", "The guest agent's version (value 1).", {
    labels: ["version"],
    source: "guest-info version",
  }),
  agentCommands: gauge("kvmon_guest_agent_commands", "Commands the guest agent lists as enabled.", {
    source: "guest-info supported_commands",
  }),
  osInfo: gauge("kvmon_guest_os_info", "The guest's OS, kernel, host name and timezone (value 1).", {
    labels: ["os_id", "os_pretty_name", "kernel_release", "hostname", "timezone"],
    source:
      "GET_GUEST_INFO os/hostname/timezone, else guest-get-osinfo, guest-get-host-name, guest-get-timezone",
  }),
  tzOffset: gauge("kvmon_guest_timezone_offset_seconds", "The guest's offset from UTC.", {
    source: "GET_GUEST_INFO timezone.offset, else guest-get-timezone",
  }),
  users: gauge("kvmon_guest_users", "Users logged in to the guest.", {
    source: "GET_GUEST_INFO user.count, else guest-get-users",
  }),
  cpu: gauge("kvmon_guest_cpu_ratio", "Share of in-guest CPU time per mode over the last window (0-1).", {
    labels: ["mode"],
    source: "guest-get-cpustats tick deltas, else /proc/stat via guest-file-*",
  }),
  load1: gauge("kvmon_guest_load1", "In-guest 1-minute load average.", {
    source: "guest-get-load, else /proc/loadavg via guest-file-*",
  }),
  load5: gauge("kvmon_guest_load5", "In-guest 5-minute load average.", { source: "as kvmon_guest_load1" }),
  load15: gauge("kvmon_guest_load15", "In-guest 15-minute load average.", { source: "as kvmon_guest_load1" }),
  memTotal: gauge("kvmon_guest_memory_total_bytes", "In-guest MemTotal.", {
    source: "/proc/meminfo via guest-file-*",
  }),
  memAvailable: gauge("kvmon_guest_memory_available_bytes", "In-guest MemAvailable.", {
    source: "/proc/meminfo via guest-file-*",
  }),
  memFree: gauge("kvmon_guest_memory_free_bytes", "In-guest MemFree.", {
    source: "/proc/meminfo via guest-file-*",
  }),
  memCached: gauge("kvmon_guest_memory_cached_bytes", "In-guest page cache (Cached).", {
    source: "/proc/meminfo via guest-file-*",
  }),
  memBuffers: gauge("kvmon_guest_memory_buffers_bytes", "In-guest Buffers.", {
    source: "/proc/meminfo via guest-file-*",
  }),
  swapTotal: gauge("kvmon_guest_memory_swap_total_bytes", "In-guest SwapTotal.", {
    source: "/proc/meminfo via guest-file-*",
  }),
  swapFree: gauge("kvmon_guest_memory_swap_free_bytes", "In-guest SwapFree.", {
    source: "/proc/meminfo via guest-file-*",
  }),
  vcpusOnline: gauge("kvmon_guest_vcpus_online", "vCPUs online inside the guest.", {
    source: "guest-get-vcpus",
  }),
  vcpus: gauge("kvmon_guest_vcpus", "vCPUs the guest sees.", { source: "guest-get-vcpus" }),
  drift: gauge("kvmon_guest_clock_drift_seconds", "Guest clock minus host clock.", {
    source: "guest-get-time minus host time at the call's midpoint",
  }),
  fsSize: gauge("kvmon_guest_filesystem_size_bytes", "Size of a guest filesystem.", {
    labels: FS,
    source: "GET_GUEST_INFO fs.N.total-bytes, else guest-get-fsinfo",
  }),
  fsUsed: gauge("kvmon_guest_filesystem_used_bytes", "Used bytes of a guest filesystem.", {
    labels: FS,
    source: "GET_GUEST_INFO fs.N.used-bytes, else guest-get-fsinfo",
  }),
  diskRead: counter("kvmon_guest_disk_read_bytes_total", "Bytes read by the guest from a disk.", {
    labels: ["device"],
    source: "guest-get-diskstats read-sectors × 512",
  }),
  diskWritten: counter("kvmon_guest_disk_written_bytes_total", "Bytes written by the guest to a disk.", {
    labels: ["device"],
    source: "guest-get-diskstats write-sectors × 512",
  }),
  diskReads: counter("kvmon_guest_disk_reads_completed_total", "Reads completed in the guest.", {
    labels: ["device"],
    source: "guest-get-diskstats read-ios",
  }),
  diskWrites: counter("kvmon_guest_disk_writes_completed_total", "Writes completed in the guest.", {
    labels: ["device"],
    source: "guest-get-diskstats write-ios",
  }),
  ifInfo: gauge("kvmon_guest_network_info", "A guest interface and its MAC (value 1).", {
    labels: ["interface", "mac"],
    source: "guest-network-get-interfaces",
  }),
  ifAddress: gauge("kvmon_guest_network_address_info", "An address of a guest interface (value 1).", {
    labels: ["interface", "family", "address", "prefix"],
    source: "guest-network-get-interfaces ip-addresses",
  }),
  rxBytes: counter("kvmon_guest_network_receive_bytes_total", "Bytes received, counted in the guest.", {
    labels: ["interface"],
    source: "guest-network-get-interfaces statistics",
  }),
  txBytes: counter("kvmon_guest_network_transmit_bytes_total", "Bytes sent, counted in the guest.", {
    labels: ["interface"],
    source: "guest-network-get-interfaces statistics",
  }),
  rxPackets: counter("kvmon_guest_network_receive_packets_total", "Packets received, counted in the guest.", {
    labels: ["interface"],
    source: "guest-network-get-interfaces statistics",
  }),
  txPackets: counter("kvmon_guest_network_transmit_packets_total", "Packets sent, counted in the guest.", {
    labels: ["interface"],
    source: "guest-network-get-interfaces statistics",
  }),
  rxErrors: counter("kvmon_guest_network_receive_errors_total", "Receive errors in the guest.", {
    labels: ["interface"],
    source: "guest-network-get-interfaces statistics",
  }),
  txErrors: counter("kvmon_guest_network_transmit_errors_total", "Transmit errors in the guest.", {
    labels: ["interface"],
    source: "guest-network-get-interfaces statistics",
  }),
  rxDropped: counter("kvmon_guest_network_receive_drop_total", "Received packets dropped in the guest.", {
    labels: ["interface"],
    source: "guest-network-get-interfaces statistics",
  }),
  txDropped: counter("kvmon_guest_network_transmit_drop_total", "Sent packets dropped in the guest.", {
    labels: ["interface"],
    source: "guest-network-get-interfaces statistics",
  }),
  truncated: gauge("kvmon_guest_truncated", "1 for each guest list cut at kvmon's cap.", {
    labels: ["list"],
    source: "guest view limits (docs/guest-agent.md)",
  }),
} as const satisfies Record<string, MetricSpec>;

export const guestMetrics: readonly MetricSpec[] = Object.values(gm);

export function exposeGuest(s: GuestSample, emit: Emit): void {
  const e = emitPresent(emit);
  for (const st of STATUSES) emit(gm.agentStatus, s.agent.status === st ? 1 : 0, [st]);
  if (s.agent.version !== null) emit(gm.agentInfo, 1, [s.agent.version]);
  emit(gm.agentCommands, s.agent.supportedCommands);
  for (const l of s.truncated) emit(gm.truncated, 1, [l]);
  const id = s.identity;
  if (id) {
    const v = (x: string | null) => x ?? "";
    emit(gm.osInfo, 1, [v(id.osId), v(id.osPrettyName), v(id.kernelRelease), v(id.hostname), v(id.timezone)]);
    e(gm.tzOffset, id.timezoneOffsetSeconds);
  }
  if (s.users) emit(gm.users, s.users.length);
  if (s.cpu) for (const m of CPU_MODES) e(gm.cpu, s.cpu[m], [m]);
  if (s.load) {
    emit(gm.load1, s.load.load1);
    emit(gm.load5, s.load.load5);
    emit(gm.load15, s.load.load15);
  }
  const m = s.memory;
  if (m) {
    emit(gm.memTotal, m.totalBytes);
    e(gm.memAvailable, m.availableBytes);
    e(gm.memFree, m.freeBytes);
    e(gm.memCached, m.cachedBytes);
    e(gm.memBuffers, m.buffersBytes);
    e(gm.swapTotal, m.swapTotalBytes);
    e(gm.swapFree, m.swapFreeBytes);
  }
  if (s.vcpus) {
    emit(gm.vcpusOnline, s.vcpus.online);
    emit(gm.vcpus, s.vcpus.total);
  }
  if (s.clock) emit(gm.drift, s.clock.driftSeconds);
  exposeLabelled(s, cappedEmitter(e, GuestLimits.labelledSeriesPerGuest));
}

type MaybeEmit = ReturnType<typeof emitPresent>;

/** An emitter that stops after `max` series: the guest-labelled families of one guest. */
export function cappedEmitter(e: MaybeEmit, max: number): MaybeEmit {
  let left = max;
  return (spec, value, labels) => {
    if (value === null || value === undefined || left <= 0) return;
    left--;
    e(spec, value, labels);
  };
}

function exposeLabelled(s: GuestSample, e: MaybeEmit): void {
  for (const f of s.filesystems ?? []) {
    const l = [f.mountpoint, f.device, f.type];
    e(gm.fsSize, f.totalBytes, l);
    e(gm.fsUsed, f.usedBytes, l);
  }
  for (const d of s.disks ?? []) {
    e(gm.diskRead, d.readBytes, [d.name]);
    e(gm.diskWritten, d.writeBytes, [d.name]);
    e(gm.diskReads, d.readOps, [d.name]);
    e(gm.diskWrites, d.writeOps, [d.name]);
  }
  for (const i of s.interfaces ?? []) {
    const l = [i.name];
    e(gm.ifInfo, 1, [i.name, i.mac ?? ""]);
    for (const a of i.addresses) e(gm.ifAddress, 1, [i.name, a.type, a.address, String(a.prefix)]);
    e(gm.rxBytes, i.rxBytes, l);
    e(gm.txBytes, i.txBytes, l);
    e(gm.rxPackets, i.rxPackets, l);
    e(gm.txPackets, i.txPackets, l);
    e(gm.rxErrors, i.rxErrors, l);
    e(gm.txErrors, i.txErrors, l);
    e(gm.rxDropped, i.rxDropped, l);
    e(gm.txDropped, i.txDropped, l);
  }
}

/**
 * Host-level metrics: node info, libvirt and hypervisor versions (read once per connection and refreshed
 * rarely by the agent, they do not change between intervals) and domain counts by state (from every
 * interval's bulk stats reply, so they cost no extra call).
 */
import { DOMAIN_STATE_NAMES, stateName, zeroStateCounts } from "../model/state.ts";
import type { HostSample } from "../model/types.ts";
import { DomainStatsGroup } from "../protocol/libvirt/types.ts";
import { gauge } from "../metrics/catalog.ts";
import type { HostCollector } from "./types.ts";

/** Versions and node info change only with a libvirtd upgrade or restart (which reconnects): re-read rarely. */
const INFO_MAX_AGE_MS = 10 * 60 * 1000;

/** libvirt's version encoding: major * 1,000,000 + minor * 1,000 + release. @example formatVersion(9000000) // "9.0.0" */
export function formatVersion(v: number): string {
  return `${Math.floor(v / 1e6)}.${Math.floor((v % 1e6) / 1e3)}.${v % 1e3}`;
}

function pickInfo(h: HostSample): Partial<HostSample> {
  const { hostname, libvirtVersion, hypervisorVersion, node, infoFetchedAt } = h;
  return { hostname, libvirtVersion, hypervisorVersion, node, infoFetchedAt };
}

const m = {
  info: gauge("kvmon_host_info", "Host identity and versions; always 1.", {
    labels: ["hostname", "libvirt_version", "hypervisor_version", "cpu_model"],
    source: "virConnectGetHostname, virConnectGetLibVersion, virConnectGetVersion, virNodeGetInfo",
  }),
  cpus: gauge("kvmon_host_cpus", "Active host CPUs (logical).", { source: "virNodeGetInfo cpus" }),
  mhz: gauge("kvmon_host_cpu_frequency_hertz", "Expected CPU frequency.", { source: "virNodeGetInfo mhz" }),
  memory: gauge("kvmon_host_memory_bytes", "Host memory.", { source: "virNodeGetInfo memory (KiB)" }),
  nodes: gauge("kvmon_host_numa_nodes", "NUMA nodes.", { source: "virNodeGetInfo nodes" }),
  sockets: gauge("kvmon_host_cpu_sockets", "CPU sockets per NUMA node.", {
    source: "virNodeGetInfo sockets",
  }),
  cores: gauge("kvmon_host_cpu_cores", "Cores per socket.", { source: "virNodeGetInfo cores" }),
  threads: gauge("kvmon_host_cpu_threads", "Threads per core.", { source: "virNodeGetInfo threads" }),
  domains: gauge("kvmon_host_domains", "Domains defined or running on the host, by state.", {
    labels: ["state"],
    source: "state.state of every record in the bulk stats reply",
  }),
};

export const hostCollector: HostCollector = {
  kind: "host",
  name: "host",
  description: "node info, libvirt and hypervisor versions, domain counts by state",
  defaultEnabled: true,
  statsGroups: DomainStatsGroup.STATE,
  metrics: Object.values(m),
  async collect(input, out) {
    const counts = zeroStateCounts();
    for (const r of input.records) {
      const code = r.params.get("state.state");
      counts[stateName(typeof code === "number" ? code : -1)]++;
    }
    out.domainsByState = counts;
    out.domainsTotal = input.records.length;
    const prev = input.previous;
    if (prev?.infoFetchedAt != null && input.now - prev.infoFetchedAt < INFO_MAX_AGE_MS) {
      Object.assign(out, pickInfo(prev));
      return;
    }
    const q = input.queries;
    const [hostname, node, lib, hv] = await Promise.all([
      q.hostname(),
      q.nodeInfo(),
      q.libVersion(),
      q.hypervisorVersion(),
    ]);
    out.hostname = hostname;
    out.libvirtVersion = formatVersion(lib);
    out.hypervisorVersion = formatVersion(hv);
    out.node = {
      model: node.model,
      memoryBytes: Number(node.memoryKiB) * 1024,
      cpus: node.cpus,
      mhz: node.mhz,
      nodes: node.nodes,
      sockets: node.sockets,
      cores: node.cores,
      threads: node.threads,
    };
    out.infoFetchedAt = input.now;
  },
  expose(host, emit) {
    emit(m.info, 1, [
      host.hostname ?? "",
      host.libvirtVersion ?? "",
      host.hypervisorVersion ?? "",
      host.node?.model ?? "",
    ]);
    const n = host.node;
    if (n) {
      emit(m.cpus, n.cpus);
      emit(m.mhz, n.mhz * 1e6);
      emit(m.memory, n.memoryBytes);
      emit(m.nodes, n.nodes);
      emit(m.sockets, n.sockets);
      emit(m.cores, n.cores);
      emit(m.threads, n.threads);
    }
    // Every state, zeros included, so "count by state" series do not appear and vanish.
    for (const state of DOMAIN_STATE_NAMES) emit(m.domains, host.domainsByState[state], [state]);
  },
};

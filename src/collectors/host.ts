/**
 * Host-level metrics: node info, libvirt and hypervisor versions (read once per connection and refreshed
 * rarely by the agent, they do not change between intervals) and domain counts by state (from every
 * interval's bulk stats reply, so they cost no extra call).
 */
import { DOMAIN_STATE_NAMES, stateName } from "../model/state.ts";
import type { HostSample } from "../model/types.ts";
import { DomainStatsGroup } from "../protocol/libvirt/types.ts";
import type { HostCollector, MetricSpec } from "./types.ts";

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

const g = (name: string, help: string, labels: string[], source: string): MetricSpec => ({
  name,
  type: "gauge",
  help,
  labels,
  source,
});

const m = {
  info: g(
    "kvmon_host_info",
    "Host identity and versions; always 1.",
    ["hostname", "libvirt_version", "hypervisor_version", "cpu_model"],
    "virConnectGetHostname, virConnectGetLibVersion, virConnectGetVersion, virNodeGetInfo",
  ),
  cpus: g("kvmon_host_cpus", "Active host CPUs (logical).", [], "virNodeGetInfo cpus"),
  mhz: g("kvmon_host_cpu_frequency_hertz", "Expected CPU frequency.", [], "virNodeGetInfo mhz"),
  memory: g("kvmon_host_memory_bytes", "Host memory.", [], "virNodeGetInfo memory (KiB)"),
  nodes: g("kvmon_host_numa_nodes", "NUMA nodes.", [], "virNodeGetInfo nodes"),
  sockets: g("kvmon_host_cpu_sockets", "CPU sockets per NUMA node.", [], "virNodeGetInfo sockets"),
  cores: g("kvmon_host_cpu_cores", "Cores per socket.", [], "virNodeGetInfo cores"),
  threads: g("kvmon_host_cpu_threads", "Threads per core.", [], "virNodeGetInfo threads"),
  domains: g(
    "kvmon_host_domains",
    "Domains defined or running on the host, by state.",
    ["state"],
    "state.state of every record in the bulk stats reply",
  ),
};

export const hostCollector: HostCollector = {
  kind: "host",
  name: "host",
  description: "node info, libvirt and hypervisor versions, domain counts by state",
  defaultEnabled: true,
  statsGroups: DomainStatsGroup.STATE,
  metrics: Object.values(m),
  async collect(input, out) {
    const counts: Record<string, number> = {};
    for (const r of input.records) {
      const code = r.params.get("state.state");
      const state = stateName(typeof code === "number" ? code : -1);
      counts[state] = (counts[state] ?? 0) + 1;
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
    for (const state of DOMAIN_STATE_NAMES) emit(m.domains, host.domainsByState[state] ?? 0, [state]);
  },
};

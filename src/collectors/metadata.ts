/**
 * Metadata from the cached domain XML, exposed as joinable `*_info` metrics (value 1, metadata in labels) rather
 * than as labels on every series, which keeps cardinality down (inovex's openstack_info pattern):
 *   kvmon_domain_cpu_usage_ratio * on(uuid) group_left(project_name) kvmon_domain_openstack_info
 */
import { gauge } from "../metrics/catalog.ts";
import type { DomainCollector } from "./types.ts";

const blockInfo = gauge(
  "kvmon_domain_block_info",
  "Disk configuration; always 1. Join on (uuid, device) with the kvmon_domain_block_* series.",
  {
    labels: ["device", "source", "bus", "disk_device", "disk_type", "format", "cache", "io", "serial"],
    source:
      "XML <disk>: target@dev, source@file|dev|name, target@bus, @device, @type, driver@type|cache|io, <serial>",
  },
);
const nicInfo = gauge(
  "kvmon_domain_interface_info",
  "NIC configuration; always 1. Join on (uuid, interface) with the kvmon_domain_interface_* series.",
  {
    labels: ["interface", "mac", "model", "interface_type", "bridge", "network"],
    source: "XML <interface>: target@dev, mac@address, model@type, @type, source@bridge|network",
  },
);
const novaInfo = gauge(
  "kvmon_domain_openstack_info",
  "OpenStack nova metadata of the domain; always 1, present only for nova instances.",
  {
    labels: ["instance_name", "project_name", "project_id", "user_name", "user_id", "flavor"],
    source:
      "XML <metadata><nova:instance>: nova:name, nova:owner/nova:project|nova:user (+@uuid), nova:flavor@name",
  },
);
const flavorVcpus = gauge(
  "kvmon_domain_openstack_flavor_vcpus",
  "vCPUs of the nova flavor the instance was built from.",
  { source: "XML nova:flavor/nova:vcpus" },
);
const flavorMemory = gauge(
  "kvmon_domain_openstack_flavor_memory_bytes",
  "Memory of the nova flavor the instance was built from.",
  { source: "XML nova:flavor/nova:memory (MiB)" },
);

const s = (v: string | null): string => v ?? "";

export const metadataCollector: DomainCollector = {
  kind: "domain",
  name: "metadata",
  description: "disk/NIC configuration and OpenStack nova metadata from the domain XML (cached)",
  defaultEnabled: true,
  statsGroups: 0,
  metrics: [blockInfo, nicInfo, novaInfo, flavorVcpus, flavorMemory],
  collect(input, out) {
    out.metadata = input.metadata ?? null;
  },
  expose(sample, emit) {
    const md = sample.metadata;
    if (!md) return;
    for (const d of md.disks) {
      emit(blockInfo, 1, [
        d.target,
        s(d.source),
        s(d.bus),
        s(d.device),
        s(d.type),
        s(d.format),
        s(d.cache),
        s(d.io),
        s(d.serial),
      ]);
    }
    for (const n of md.interfaces) {
      // Without a target dev (shut-off domain) there is no series to join with.
      if (n.targetDev === null) continue;
      emit(nicInfo, 1, [n.targetDev, s(n.mac), s(n.model), s(n.type), s(n.bridge), s(n.network)]);
    }
    const nova = md.nova;
    if (nova) {
      emit(novaInfo, 1, [
        s(nova.instanceName),
        s(nova.projectName),
        s(nova.projectUuid),
        s(nova.userName),
        s(nova.userUuid),
        s(nova.flavorName),
      ]);
      if (nova.flavorVcpus !== null) emit(flavorVcpus, nova.flavorVcpus);
      if (nova.flavorMemoryMiB !== null) emit(flavorMemory, nova.flavorMemoryMiB * 1024 * 1024);
    }
  },
};

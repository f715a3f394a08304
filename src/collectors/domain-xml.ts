/**
 * Domain metadata from the domain XML (virDomainGetXMLDesc): disks, NICs and OpenStack nova metadata. Fetched
 * once per domain and refreshed on lifecycle events (agent/metadata-cache.ts), never every interval: the XML
 * call is the expensive one (KubeVirt #17339).
 *
 * Nova writes `<metadata><nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">` with name,
 * creationTime, flavor (memory MiB, disk GiB, vcpus), owner (user, project with uuids); any prefix is accepted
 * as long as it is bound to a nova namespace URI.
 */
import type { DiskMetadata, DomainMetadata, InterfaceMetadata, NovaMetadata } from "../model/types.ts";
import { XmlError } from "./errors.ts";
import { attr, child, children, childText, localName, parseXml, type XmlElement } from "./xml.ts";

const NOVA_NS = "http://openstack.org/xmlns/libvirt/nova/";

export function parseDomainMetadata(xml: string, fetchedAt: number): DomainMetadata {
  const root = parseXml(xml);
  if (root.name !== "domain") throw new XmlError(`domain XML has root <${root.name}>, expected <domain>`);
  const devices = child(root, "devices");
  return {
    title: childText(root, "title"),
    disks: children(devices, "disk").flatMap(parseDisk),
    interfaces: children(devices, "interface").map(parseInterface),
    nova: parseNova(child(root, "metadata")),
    fetchedAt,
  };
}

function parseDisk(disk: XmlElement): DiskMetadata[] {
  const target = attr(child(disk, "target"), "dev");
  if (target === null) return []; // not addressable in stats without a target
  const driver = child(disk, "driver");
  return [
    {
      target,
      bus: attr(child(disk, "target"), "bus"),
      device: attr(disk, "device"),
      type: attr(disk, "type"),
      source: diskSource(disk),
      format: attr(driver, "type"),
      cache: attr(driver, "cache"),
      io: attr(driver, "io"),
      serial: childText(disk, "serial"),
    },
  ];
}

/** A `<disk>`'s source as one string: file → file=, block → dev=, network → protocol://name, volume → pool/volume. */
export function diskSource(disk: XmlElement): string | null {
  const source = child(disk, "source");
  return (
    attr(source, "file") ??
    attr(source, "dev") ??
    (attr(disk, "type") === "network" && source
      ? `${attr(source, "protocol") ?? "network"}://${attr(source, "name") ?? ""}`
      : null) ??
    (attr(source, "volume") !== null ? `${attr(source, "pool")}/${attr(source, "volume")}` : null)
  );
}

function parseInterface(nic: XmlElement): InterfaceMetadata {
  const source = child(nic, "source");
  return {
    mac: attr(child(nic, "mac"), "address"),
    model: attr(child(nic, "model"), "type"),
    type: attr(nic, "type"),
    bridge: attr(source, "bridge"),
    network: attr(source, "network"),
    targetDev: attr(child(nic, "target"), "dev"),
  };
}

function isNovaInstance(el: XmlElement): boolean {
  if (localName(el) !== "instance") return false;
  const prefix = el.name.includes(":") ? el.name.slice(0, el.name.indexOf(":")) : null;
  const ns = prefix ? el.attrs[`xmlns:${prefix}`] : el.attrs.xmlns;
  return ns?.startsWith(NOVA_NS) ?? false;
}

function intOrNull(s: string | null): number | null {
  if (s === null) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

function parseNova(metadata: XmlElement | undefined): NovaMetadata | null {
  const inst = metadata?.children.find(isNovaInstance);
  if (!inst) return null;
  const flavor = child(inst, "flavor");
  const owner = child(inst, "owner");
  const user = child(owner, "user");
  const project = child(owner, "project");
  return {
    instanceName: childText(inst, "name"),
    projectName: project?.text.trim() || null,
    projectUuid: attr(project, "uuid"),
    userName: user?.text.trim() || null,
    userUuid: attr(user, "uuid"),
    flavorName: attr(flavor, "name"),
    flavorVcpus: intOrNull(childText(flavor, "vcpus")),
    flavorMemoryMiB: intOrNull(childText(flavor, "memory")),
    flavorDiskGiB: intOrNull(childText(flavor, "disk")),
    creationTime: childText(inst, "creationTime"),
  };
}

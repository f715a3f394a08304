/**
 * The disks of a domain definition (virDomainGetXMLDesc, persistent with VIR_DOMAIN_XML_INACTIVE or live) with
 * what the audit judges: `<driver cache io discard type>`, `<shareable/>`, `<readonly/>`, the source and, in the
 * live definition, the alias that is QEMU's device id. Reuses the collectors' XML reader and source rules.
 */
import { diskSource } from "../collectors/domain-xml.ts";
import { XmlError } from "../collectors/errors.ts";
import { attr, child, children, parseXml } from "../collectors/xml.ts";
import type { DiskDefinition } from "./types.ts";

/** virDomainXMLFlags: the persistent definition (what the next boot uses) instead of the live one. */
export const XML_INACTIVE = 2;

export function parseDiskDefinitions(xml: string): DiskDefinition[] {
  const root = parseXml(xml);
  if (root.name !== "domain") throw new XmlError(`domain XML has root <${root.name}>, expected <domain>`);
  const out: DiskDefinition[] = [];
  for (const disk of children(child(root, "devices"), "disk")) {
    const target = attr(child(disk, "target"), "dev");
    if (target === null) continue;
    const driver = child(disk, "driver");
    out.push({
      target,
      device: attr(disk, "device"),
      type: attr(disk, "type"),
      bus: attr(child(disk, "target"), "bus"),
      source: diskSource(disk),
      format: attr(driver, "type"),
      cache: attr(driver, "cache"),
      io: attr(driver, "io"),
      discard: attr(driver, "discard"),
      shareable: child(disk, "shareable") !== undefined,
      readonly: child(disk, "readonly") !== undefined,
      alias: attr(child(disk, "alias"), "name"),
    });
  }
  return out;
}

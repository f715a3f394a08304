/**
 * Node files for libvirt's test driver (`test+unix:///<node.xml>`, behind the same libvirtd): N domains
 * without QEMU, for benchmarks of many domains.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const hex = (i: number) => (i & 0xff).toString(16).padStart(2, "0");

/**
 * Domain i of a node file: one disk and one NIC each, or, when `varied`, 1 + i % 4 disks and i % 3 NICs with
 * device names that differ per domain (vda.., sda..; networks net-0..), so no two neighbours look alike.
 */
export function domainXml(i: number, varied = false): string {
  const disks = varied ? 1 + (i % 4) : 1;
  const nics = varied ? i % 3 : 1;
  const devs: string[] = [];
  for (let d = 0; d < disks; d++) {
    const bus = varied && d % 2 === 1 ? "scsi" : "virtio";
    const dev = `${bus === "scsi" ? "sd" : "vd"}${String.fromCharCode(97 + d)}`;
    devs.push(
      `<disk type='file' device='disk'><source file='/tmp/bench-${i}-${d}.img'/><target dev='${dev}' bus='${bus}'/></disk>`,
    );
  }
  for (let n = 0; n < nics; n++)
    devs.push(
      `<interface type='network'><mac address='52:54:${hex(n)}:${hex(i >> 16)}:${hex(i >> 8)}:${hex(i)}'/>` +
        `<source network='${varied ? `net-${n}` : "default"}'/></interface>`,
    );
  return (
    `<domain type='test'><name>bench-${i}</name><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>` +
    `<devices>${devs.join("")}</devices></domain>`
  );
}

/** A whole node file with n domains. */
export function nodeXml(n: number, varied = false): string {
  const doms = Array.from({ length: n }, (_, i) => domainXml(i, varied));
  return (
    "<node>\n<cpu><mode>fixed</mode><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads>" +
    "<active>2</active><mhz>2400</mhz><model>i686</model></cpu>\n<memory>25165824</memory>\n" +
    `${doms.join("\n")}\n</node>\n`
  );
}

/** A test-driver node with n domains in a new temporary directory; `remove()` deletes it. */
export function testDriverNode(n: number, varied = false): { uri: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "kvmon-bench-node-"));
  const file = join(dir, "node.xml");
  writeFileSync(file, nodeXml(n, varied));
  return { uri: `test+unix://${file}`, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

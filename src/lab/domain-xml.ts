/**
 * Domain XML for the lab's guests, as pure functions (unit-tested, no libvirt needed). Each domain carries the
 * lab marker `<kvmon:lab role=... image=.../>` in its metadata: `down` destroys only domains that have both
 * the name prefix and this marker, and `up` recreates a guest whose image hash is stale.
 */
import { GUEST_MEMORY_MIB, GUEST_VCPUS, KVM_GUEST_MEMORY_MIB, LAB_NS } from "./config.ts";
import { GUEST_AGENT_PORT } from "./guest-files.ts";

export type LabRole = "guest" | "kvm";

export function xmlEscape(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", "'": "apos", '"': "quot" }[c]};`,
  );
}

function marker(role: LabRole, imageHash: string): string {
  return `  <metadata>
    <kvmon:lab xmlns:kvmon="${LAB_NS}" role="${role}" image="${xmlEscape(imageHash)}"/>
  </metadata>`;
}

export interface GuestSpec {
  name: string;
  imageHash: string;
  kernel: string;
  initrd: string;
  dataDisk: string;
  mac: string;
  consoleLog: string;
  vcpus?: number;
  memoryMiB?: number;
}

/**
 * A TCG Linux guest (this host's KVM, kvm_pvm, cannot run a stock kernel): direct kernel boot, the ext4 data
 * disk with O_DIRECT + native AIO, a tap NIC, a pty serial console logged by virtlogd, the guest-agent
 * channel and a balloon with stats every 5 s.
 */
export function guestDomainXml(spec: GuestSpec): string {
  const e = xmlEscape;
  const vcpus = spec.vcpus ?? GUEST_VCPUS;
  const mem = spec.memoryMiB ?? GUEST_MEMORY_MIB;
  return `<domain type='qemu'>
  <name>${e(spec.name)}</name>
  <title>kvmon lab guest</title>
${marker("guest", spec.imageHash)}
  <memory unit='MiB'>${mem}</memory>
  <currentMemory unit='MiB'>${mem}</currentMemory>
  <vcpu placement='static'>${vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${e(spec.kernel)}</kernel>
    <initrd>${e(spec.initrd)}</initrd>
    <cmdline>console=ttyS0 panic=5 kvmon.hostname=${e(spec.name)}</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none' io='native'/>
      <source file='${e(spec.dataDisk)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='ethernet'>
      <mac address='${e(spec.mac)}'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'>
      <log file='${e(spec.consoleLog)}' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <channel type='unix'>
      <target type='virtio' name='${GUEST_AGENT_PORT}'/>
    </channel>
    <controller type='usb' model='none'/>
    <memballoon model='virtio'>
      <stats period='5'/>
    </memballoon>
  </devices>
</domain>
`;
}

export interface KvmGuestSpec {
  name: string;
  imageHash: string;
  bootDisk: string;
  consoleLog: string;
}

/** The KVM guest: one vCPU running the boot sector from a raw IDE disk through SeaBIOS. */
export function kvmDomainXml(spec: KvmGuestSpec): string {
  const e = xmlEscape;
  return `<domain type='kvm'>
  <name>${e(spec.name)}</name>
  <title>kvmon lab KVM guest (boot-sector loop)</title>
${marker("kvm", spec.imageHash)}
  <memory unit='MiB'>${KVM_GUEST_MEMORY_MIB}</memory>
  <currentMemory unit='MiB'>${KVM_GUEST_MEMORY_MIB}</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${e(spec.bootDisk)}'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <serial type='pty'>
      <log file='${e(spec.consoleLog)}' append='off'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/** What `dumpxml` tells about a domain, read with narrow patterns (libvirt's output format is stable). */
export interface DomainFacts {
  type: string;
  vcpus: number;
  memoryKiB: number;
  /** The lab marker, when present. */
  lab: { role: string; image: string } | undefined;
  macs: string[];
  /** Host-side tap names (live XML only). */
  taps: string[];
}

export function parseDomainXml(xml: string): DomainFacts {
  const type = /<domain\s+type=['"]([^'"]+)['"]/.exec(xml)?.[1] ?? "unknown";
  const vcpus = Number(/<vcpu\b[^>]*>(\d+)<\/vcpu>/.exec(xml)?.[1] ?? Number.NaN);
  const memMatch = /<memory\b(?:\s+unit=['"](\w+)['"])?[^>]*>(\d+)<\/memory>/.exec(xml);
  const memoryKiB = memMatch ? toKiB(Number(memMatch[2]), memMatch[1] ?? "KiB") : Number.NaN;
  let lab: DomainFacts["lab"];
  const labTag = new RegExp(
    `<(\\w+):lab\\b[^>]*xmlns:\\1=['"]${LAB_NS.replace(/[.]/g, "\\.")}['"][^>]*>`,
  ).exec(xml);
  if (labTag) {
    const tag = labTag[0];
    lab = {
      role: /\brole=['"]([^'"]*)['"]/.exec(tag)?.[1] ?? "",
      image: /\bimage=['"]([^'"]*)['"]/.exec(tag)?.[1] ?? "",
    };
  }
  const macs = [...xml.matchAll(/<mac\s+address=['"]([0-9a-fA-F:]+)['"]/g)].map((m) => m[1]!.toLowerCase());
  const ifaces = [...xml.matchAll(/<interface\b[\s\S]*?<\/interface>/g)].map((m) => m[0]);
  const taps = ifaces.flatMap((i) => /<target\s+dev=['"]([^'"]+)['"]/.exec(i)?.[1] ?? []);
  return { type, vcpus, memoryKiB, lab, macs, taps };
}

function toKiB(value: number, unit: string): number {
  const factor: Record<string, number> = {
    b: 1 / 1024,
    bytes: 1 / 1024,
    KiB: 1,
    k: 1,
    MiB: 1024,
    M: 1024,
    GiB: 1024 * 1024,
    G: 1024 * 1024,
  };
  return value * (factor[unit] ?? Number.NaN);
}

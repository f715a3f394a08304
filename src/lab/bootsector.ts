/**
 * The KVM guest's whole program: a 512-byte boot sector that SeaBIOS loads at 0x7c00 and jumps to. It loops
 * on `out 0x80, al` (the POST diagnostic port), so every iteration is a port-I/O exit to KVM; on this host's
 * kvm_pvm that also means instruction emulation, which is what the KVM monitoring wants to see.
 */

/** `mov al, 1` ; `out 0x80, al` ; `jmp` back to the mov (rel8 -6: from the end of the jmp at 6 to 0). */
export const BOOT_LOOP = Uint8Array.of(0xb0, 0x01, 0xe6, 0x80, 0xeb, 0xfa);

export const SECTOR_SIZE = 512;

/** The boot sector: code, zero padding, and the 0x55 0xAA signature BIOSes require in bytes 510-511. */
export function bootSector(code: Uint8Array = BOOT_LOOP): Uint8Array {
  if (code.length > SECTOR_SIZE - 2)
    throw new RangeError(`boot code is ${code.length} bytes; at most 510 fit`);
  const sector = new Uint8Array(SECTOR_SIZE);
  sector.set(code, 0);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/** A raw disk image: the boot sector followed by zeros up to `sizeBytes` (a whole number of sectors). */
export function bootDiskImage(sizeBytes = 1024 * 1024, code: Uint8Array = BOOT_LOOP): Uint8Array {
  if (sizeBytes < SECTOR_SIZE || sizeBytes % SECTOR_SIZE !== 0) {
    throw new RangeError(`disk size must be a positive multiple of ${SECTOR_SIZE}, got ${sizeBytes}`);
  }
  const disk = new Uint8Array(sizeBytes);
  disk.set(bootSector(code), 0);
  return disk;
}

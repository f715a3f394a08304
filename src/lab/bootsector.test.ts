import assert from "node:assert/strict";
import { test } from "node:test";
import { BOOT_LOOP, bootDiskImage, bootSector } from "./bootsector.ts";

test("the loop is mov al,1; out 0x80,al; jmp back to the mov", () => {
  assert.deepEqual([...BOOT_LOOP], [0xb0, 0x01, 0xe6, 0x80, 0xeb, 0xfa]);
  // jmp rel8 is relative to the next instruction: end of jmp (offset 6) + (-6) = 0, the mov.
  const rel = (BOOT_LOOP[5]! << 24) >> 24;
  assert.equal(BOOT_LOOP.length + rel, 0);
});

test("bootSector: 512 bytes, code first, zeros, 55 AA signature", () => {
  const s = bootSector();
  assert.equal(s.length, 512);
  assert.deepEqual([...s.subarray(0, 6)], [...BOOT_LOOP]);
  assert.ok(s.subarray(6, 510).every((b) => b === 0));
  assert.equal(s[510], 0x55);
  assert.equal(s[511], 0xaa);
});

test("bootSector rejects code that would overwrite the signature", () => {
  assert.throws(() => bootSector(new Uint8Array(511)), RangeError);
  assert.equal(bootSector(new Uint8Array(510).fill(0x90))[509], 0x90);
});

test("bootDiskImage pads to whole sectors", () => {
  const d = bootDiskImage(4096);
  assert.equal(d.length, 4096);
  assert.equal(d[511], 0xaa);
  assert.ok(d.subarray(512).every((b) => b === 0));
  assert.throws(() => bootDiskImage(1000), RangeError);
});

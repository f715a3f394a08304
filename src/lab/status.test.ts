import assert from "node:assert/strict";
import { test } from "node:test";
import { formatStatus } from "./status.ts";

test("formatStatus: aligned columns, numbers right-aligned", () => {
  const text = formatStatus([
    { name: "kvmon-lab-1", state: "running", type: "qemu", vcpus: 2, memoryMiB: 256, agent: "ok 31 ms" },
    { name: "kvmon-lab-kvm", state: "shut off", type: "kvm", vcpus: 1, memoryMiB: 32, agent: "-" },
  ]);
  assert.equal(
    text,
    [
      "NAME           STATE     TYPE  VCPUS   MEMORY  AGENT",
      "kvmon-lab-1    running   qemu      2  256 MiB  ok 31 ms",
      "kvmon-lab-kvm  shut off  kvm       1   32 MiB  -",
      "",
    ].join("\n"),
  );
  assert.match(formatStatus([]), /no lab domains/);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { decode, encode } from "../xdr/codec.ts";
import { Program } from "./packet.ts";
import { GuestInfoType, P } from "./procedures.ts";
import { type DomainStatsRecord, TypedParamType, type TypedParamValue } from "./types.ts";

test("procedure numbers are unique per program and match the verified table", () => {
  const seen = new Set<string>();
  for (const p of Object.values(P)) {
    const key = `${p.program}:${p.number}`;
    assert.ok(!seen.has(key), `duplicate ${key} (${p.name})`);
    seen.add(key);
  }
  // Spot checks of numbers verified against libvirtd 9.0 by the integration tests.
  assert.deepEqual(
    [
      P.CONNECT_OPEN,
      P.DOMAIN_SUSPEND,
      P.DOMAIN_RESUME,
      P.CONNECT_LIST_ALL_DOMAINS,
      P.CONNECT_GET_ALL_DOMAIN_STATS,
    ].map((p) => p.number),
    [1, 34, 28, 273, 344],
  );
  assert.equal(P.QEMU_DOMAIN_AGENT_COMMAND.program, Program.QEMU);
  assert.equal(P.DOMAIN_OPEN_CONSOLE.stream, true);
});

test("NODE_GET_INFO: char model[32] is 128 bytes on the wire", () => {
  const v = {
    model: "x86_64",
    memory: 6121676n,
    cpus: 2,
    mhz: 2596,
    nodes: 1,
    sockets: 1,
    cores: 2,
    threads: 1,
  };
  const buf = encode(P.NODE_GET_INFO.ret, v);
  assert.equal(buf.length, 128 + 8 + 6 * 4);
  assert.deepEqual(decode(P.NODE_GET_INFO.ret, buf), v);
});

function fleet(domains: number): DomainStatsRecord[] {
  const out: DomainStatsRecord[] = [];
  for (let i = 0; i < domains; i++) {
    const params = new Map<string, TypedParamValue>([
      ["state.state", 1],
      ["state.reason", 1],
    ]);
    for (let v = 0; v < 8; v++) {
      for (const k of [
        "state",
        "time",
        "wait",
        "delay",
        "exits.sum",
        "halt_exits",
        "io_exits",
        "mmio_exits",
        "irq_exits",
        "halt_poll_success_ns",
      ]) {
        params.set(`vcpu.${v}.${k}`, BigInt(i) * 1_000_000_007n + BigInt(v));
      }
    }
    for (let b = 0; b < 3; b++) {
      params.set(`block.${b}.name`, `vd${"abc"[b]}`);
      params.set(`block.${b}.path`, `/var/lib/libvirt/images/vm${i}-${b}.qcow2`);
      for (const k of [
        "rd.reqs",
        "rd.bytes",
        "rd.times",
        "wr.reqs",
        "wr.bytes",
        "wr.times",
        "fl.reqs",
        "fl.times",
        "allocation",
        "capacity",
        "physical",
      ]) {
        params.set(`block.${b}.${k}`, (1n << 62n) + BigInt(i));
      }
    }
    for (const k of [
      "current",
      "maximum",
      "swap_in",
      "swap_out",
      "major_fault",
      "minor_fault",
      "unused",
      "available",
      "usable",
      "rss",
      "last-update",
      "disk_caches",
      "hugetlb_pgalloc",
      "hugetlb_pgfail",
      "x1",
      "x2",
      "x3",
    ]) {
      params.set(`balloon.${k}`, BigInt(i));
    }
    for (const k of ["time", "user", "system"]) params.set(`cpu.${k}`, BigInt(i) * 1000n);
    params.set("cpu.load", 0.5);
    out.push({
      domain: { name: `vm-${i}`, uuid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, id: i + 1 },
      params,
    });
  }
  return out;
}

test("bulk stats: 1000 domains x ~150 params decode exactly", () => {
  // Correctness only; decode speed is measured by bench/libvirt-client/run.ts (no timing asserts in unit tests).
  const records = fleet(1000);
  assert.ok(records[0]!.params.size >= 140);
  const buf = encode(P.CONNECT_GET_ALL_DOMAIN_STATS.ret, { retStats: records });
  const got = decode(P.CONNECT_GET_ALL_DOMAIN_STATS.ret, buf).retStats;
  assert.equal(got.length, 1000);
  assert.deepEqual(got, records);
  // Spot checks that do not depend on the encoder: 64-bit values above 2^53 keep every bit.
  assert.equal(got[999]!.params.get("block.2.rd.bytes"), (1n << 62n) + 999n);
  assert.equal(got[999]!.domain.name, "vm-999");
});

test("DOMAIN_GET_GUEST_INFO: args and a typed-params reply as bytes on the wire", () => {
  assert.equal(P.DOMAIN_GET_GUEST_INFO.number, 418);
  const args = {
    dom: { name: "g1", uuid: "00112233-4455-6677-8899-aabbccddeeff", id: 7 },
    types: GuestInfoType.HOSTNAME | GuestInfoType.FILESYSTEM,
    flags: 0,
  };
  const argBytes = Buffer.from(
    [
      "00000002 67310000", // name "g1", padded
      "00112233 44556677 8899aabb ccddeeff", // uuid, 16 raw bytes
      "00000007", // id
      "00000018 00000000", // types HOSTNAME|FILESYSTEM = 8|16, flags
    ]
      .join("")
      .replace(/ /g, ""),
    "hex",
  );
  assert.deepEqual(encode(P.DOMAIN_GET_GUEST_INFO.args, args), argBytes);
  const retBytes = Buffer.from(
    [
      "00000002", // two params
      "00000008 686f73746e616d65 00000007 0000000b 6b766d6f6e2d6c61622d3100", // hostname STRING "kvmon-lab-1"
      "0000000f 66732e302e757365642d627974657300 00000004 00000000 00803800", // fs.0.used-bytes ULLONG 8402944
    ]
      .join("")
      .replace(/ /g, ""),
    "hex",
  );
  assert.deepEqual(decode(P.DOMAIN_GET_GUEST_INFO.ret, retBytes), {
    params: [
      { field: "hostname", type: TypedParamType.STRING, value: "kvmon-lab-1" },
      { field: "fs.0.used-bytes", type: TypedParamType.ULLONG, value: 8402944n },
    ],
  });
  // More params than REMOTE_DOMAIN_GUEST_INFO_PARAMS_MAX is refused before anything is read.
  assert.throws(() => decode(P.DOMAIN_GET_GUEST_INFO.ret, Buffer.from("00000801", "hex")));
});

/** Captured from libvirtd 9.0 (Debian 12, 2 CPUs, 24 GiB) on 2026-11-26: payloads after the 28-byte header. */
const hex = (...parts: string[]) => Buffer.from(parts.join("").replace(/ /g, ""), "hex");

test("NODE_GET_CPU_STATS: the count probe and the all-CPUs reply, as libvirtd sent them", () => {
  assert.deepEqual([P.NODE_GET_CPU_STATS.number, P.NODE_GET_MEMORY_STATS.number], [227, 228]);
  // args: cpuNum -1 (all CPUs), nparams, flags.
  assert.deepEqual(
    encode(P.NODE_GET_CPU_STATS.args, { cpuNum: -1, nparams: 0, flags: 0 }),
    hex("ffffffff 00000000 00000000"),
  );
  assert.deepEqual(
    encode(P.NODE_GET_CPU_STATS.args, { cpuNum: -1, nparams: 4, flags: 0 }),
    hex("ffffffff 00000004 00000000"),
  );
  // Asked with nparams 0, the daemon answers no params and how many there are.
  assert.deepEqual(decode(P.NODE_GET_CPU_STATS.ret, hex("00000000 00000004")), { params: [], nparams: 4 });
  const reply = hex(
    "00000004",
    "00000006 6b65726e656c0000 000003ba8333a400", // "kernel" 4099600000000 ns
    "00000004 75736572 00000ddb3cdb3d80", // "user"
    "00000004 69646c65 00001e77ffb51900", // "idle"
    "00000006 696f776169740000 0000000f5f194100", // "iowait"
    "00000004", // nparams
  );
  assert.deepEqual(decode(P.NODE_GET_CPU_STATS.ret, reply), {
    params: [
      { field: "kernel", value: 4099600000000n },
      { field: "user", value: 15235270000000n },
      { field: "idle", value: 33500740000000n },
      { field: "iowait", value: 66020000000n },
    ],
    nparams: 4,
  });
  assert.deepEqual(encode(P.NODE_GET_CPU_STATS.ret, decode(P.NODE_GET_CPU_STATS.ret, reply)), reply);
  // More than REMOTE_NODE_CPU_STATS_MAX (16) params is refused before anything is read.
  assert.throws(() => decode(P.NODE_GET_CPU_STATS.ret, hex("00000011")));
});

test("NODE_GET_MEMORY_STATS: all cells and one cell, as libvirtd sent them", () => {
  // args: nparams, cellNum -1 (all cells), flags: note the order differs from NODE_GET_CPU_STATS.
  assert.deepEqual(
    encode(P.NODE_GET_MEMORY_STATS.args, { nparams: 4, cellNum: -1, flags: 0 }),
    hex("00000004 ffffffff 00000000"),
  );
  const all = hex(
    "00000004",
    "00000005 746f74616c000000 000000000178a634", // "total" 24684084 KiB
    "00000004 66726565 0000000001441bec", // "free"
    "00000007 6275666665727300 00000000000095a0", // "buffers"
    "00000006 6361636865640000 0000000000159b40", // "cached"
    "00000004",
  );
  assert.deepEqual(decode(P.NODE_GET_MEMORY_STATS.ret, all), {
    params: [
      { field: "total", value: 24684084n },
      { field: "free", value: 21240812n },
      { field: "buffers", value: 38304n },
      { field: "cached", value: 1416000n },
    ],
    nparams: 4,
  });
  // Cell 0 has only total and free (the node's own meminfo).
  const cell = hex(
    "00000002",
    "00000005 746f74616c000000 00000000010568cc",
    "00000004 66726565 0000000000d0e35c",
    "00000002",
  );
  assert.deepEqual(decode(P.NODE_GET_MEMORY_STATS.ret, cell), {
    params: [
      { field: "total", value: 17131724n },
      { field: "free", value: 13689692n },
    ],
    nparams: 2,
  });
  assert.throws(() => decode(P.NODE_GET_MEMORY_STATS.ret, hex("00000011")));
});

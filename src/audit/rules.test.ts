import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cacheMode } from "../model/cache-modes.ts";
import { diskFindings, type DiskFacts, type DomainFacts, effectiveMode } from "./rules.ts";
import type { CacheFlags, CmdlineDisk, DiskDefinition, OpenImage, QueryBlockDisk } from "./types.ts";

const RUNNING: DomainFacts = { running: true, persistent: true };

function def(over: Partial<DiskDefinition> = {}): DiskDefinition {
  return {
    target: "vda",
    device: "disk",
    type: "file",
    bus: "virtio",
    source: "/img/vda.qcow2",
    format: "qcow2",
    cache: "none",
    io: "native",
    discard: null,
    shareable: false,
    readonly: false,
    alias: "virtio-disk0",
    ...over,
  };
}

const flags = (mode: string): CacheFlags => cacheMode(mode)!.flags;

function cmdline(mode: string, aio = "native"): CmdlineDisk {
  return {
    deviceId: "virtio-disk0",
    nodeName: "libvirt-1-format",
    filename: "/img/vda.qcow2",
    format: "qcow2",
    aio,
    cache: flags(mode),
    readOnly: false,
    discard: null,
  };
}

function open(direct: boolean, access: OpenImage["access"] = "read-write"): OpenImage {
  return {
    fd: 13,
    path: "/img/vda.qcow2",
    flagsOctal: direct ? "02140002" : "02100002",
    access,
    direct,
    dsync: false,
    sync: false,
  };
}

function queryBlock(mode: string): QueryBlockDisk {
  return {
    qdev: "virtio-disk0",
    nodeName: null,
    file: null,
    format: null,
    readOnly: false,
    cache: flags(mode),
  };
}

/** A running disk in `mode` where every view agrees, with the changes in `over`. */
function facts(mode: string, io: string | null, over: Partial<DiskFacts> = {}): DiskFacts {
  const d = def({ cache: mode, io });
  return {
    target: "vda",
    persistent: { ...d, alias: null },
    live: d,
    cmdline: cmdline(mode, io ?? "threads"),
    queryBlock: null,
    openImages: [open(flags(mode).direct)],
    storage: "shared",
    latency: null,
    ...over,
  };
}

const rules = (f: DiskFacts, domain = RUNNING) =>
  diskFindings(f, domain).map((x) => `${x.rule}:${x.severity}`);

describe("the rule table: each rule fires on its case and stays quiet otherwise", () => {
  test("none/native on shared storage with every view agreeing: no findings", () => {
    assert.deepEqual(rules(facts("none", "native")), []);
  });

  test("unsafe-cache: critical on a writable disk, info on a read-only one or a CD-ROM", () => {
    assert.ok(rules(facts("unsafe", null)).includes("unsafe-cache:critical"));
    const ro = facts("unsafe", null, { live: def({ cache: "unsafe", io: null, readonly: true }) });
    assert.ok(rules({ ...ro, openImages: [] }).includes("unsafe-cache:info"));
    const cd = facts("unsafe", null, { live: def({ cache: "unsafe", io: null, device: "cdrom" }) });
    assert.ok(rules(cd).includes("unsafe-cache:info"));
    assert.ok(!rules(facts("writeback", null)).some((r) => r.startsWith("unsafe-cache")));
  });

  test("native-without-direct: critical when io=native runs without O_DIRECT, also for the next boot", () => {
    const running = facts("writeback", "native");
    assert.ok(rules(running).includes("native-without-direct:critical"));
    assert.ok(!rules(facts("none", "native")).some((r) => r.startsWith("native-without-direct")));
    assert.ok(!rules(facts("writeback", "threads")).some((r) => r.startsWith("native-without-direct")));
    const shutOff = { ...facts("writethrough", "native"), live: null, cmdline: null, openImages: [] };
    assert.ok(
      rules(shutOff, { running: false, persistent: true }).includes("native-without-direct:critical"),
    );
  });

  test("migration-unsafe: a writable disk on local (or unidentified) storage with a cache other than none/directsync", () => {
    assert.ok(rules(facts("writeback", null, { storage: "local" })).includes("migration-unsafe:warning"));
    assert.ok(
      rules(facts("writethrough", null, { storage: "unknown" })).includes("migration-unsafe:warning"),
    );
    for (const quiet of [
      facts("none", null, { storage: "local" }),
      facts("directsync", null, { storage: "local" }),
      facts("writeback", null, { storage: "shared" }),
      facts("writeback", null, { storage: "network" }),
      facts("writeback", null, {
        storage: "local",
        live: def({ cache: "writeback", io: null, shareable: true }),
      }),
    ]) {
      assert.ok(!rules(quiet).some((r) => r.startsWith("migration-unsafe")), JSON.stringify(quiet.live));
    }
  });

  test("writeback, writethrough and directsync are explained (info); none is not", () => {
    assert.ok(rules(facts("writeback", null)).includes("writeback:info"));
    assert.ok(rules(facts("writethrough", null)).includes("writethrough:info"));
    assert.ok(rules(facts("directsync", "native")).includes("directsync:info"));
    assert.deepEqual(rules(facts("none", null)), []);
  });

  test("default-cache: no mode in the definition resolves to what QEMU runs with", () => {
    const f = facts("writeback", null, {
      live: def({ cache: null, io: null }),
      persistent: def({ cache: null, io: null }),
    });
    const found = diskFindings(f, RUNNING).find((x) => x.rule === "default-cache");
    assert.ok(found);
    assert.match(found.message, /QEMU uses writeback/);
    assert.match(
      found.meaning,
      /QEMU command line: write-cache=on cache.direct=off cache.no-flush=off \(writeback\)/,
    );
    assert.ok(
      !rules(facts("writeback", null)).includes("default-cache:info"),
      "an explicit mode is not 'default'",
    );
  });

  test("next-boot-differs: the persistent definition changed while running, with the next boot's own findings", () => {
    const f = facts("none", "native", { persistent: def({ cache: "unsafe", io: null, alias: null }) });
    const found = diskFindings(f, RUNNING);
    const differs = found.find((x) => x.rule === "next-boot-differs");
    assert.equal(differs?.severity, "warning");
    assert.match(
      differs!.message,
      /the next boot uses another mode: the persistent definition says cache=unsafe io=default/,
    );
    assert.ok(found.some((x) => x.rule === "unsafe-cache" && x.message.startsWith("next boot: ")));
    // 'default' and an absent cache are the same mode; io absent and 'threads' too
    const same = facts("writeback", "threads", {
      persistent: def({ cache: null, io: null }),
      live: def({ cache: "default", io: "threads" }),
    });
    assert.ok(!rules(same).includes("next-boot-differs:warning"));
    assert.ok(!rules(f, { running: false, persistent: true }).includes("next-boot-differs:warning"));
  });

  test("live-only and next-boot-only: a disk in one definition only (a transient domain has no persistent one)", () => {
    assert.ok(rules(facts("none", "native", { persistent: null })).includes("live-only:info"));
    assert.ok(
      !rules(facts("none", "native", { persistent: null }), { running: true, persistent: false }).includes(
        "live-only:info",
      ),
    );
    const added = { ...facts("none", "native"), live: null, cmdline: null, openImages: [] };
    assert.ok(rules(added).includes("next-boot-only:info"));
  });

  test("runtime-mismatch: the live definition against QEMU's command line, query-block and aio", () => {
    assert.ok(
      rules(facts("none", "native", { cmdline: cmdline("writeback", "native") })).includes(
        "runtime-mismatch:warning",
      ),
    );
    assert.ok(
      rules(facts("none", "native", { cmdline: cmdline("none", "threads") })).includes(
        "runtime-mismatch:warning",
      ),
    );
    const qb = queryBlock("unsafe");
    const viaQmp = diskFindings(facts("none", "native", { queryBlock: qb }), RUNNING);
    assert.ok(
      viaQmp.some((x) => x.rule === "runtime-mismatch" && /query-block has .*\(unsafe\)/.test(x.message)),
    );
    assert.ok(
      viaQmp.some((x) => x.rule === "unsafe-cache"),
      "what QEMU reports wins over the definitions",
    );
    assert.ok(!rules(facts("none", "native")).includes("runtime-mismatch:warning"));
  });

  test("open-flags-mismatch: O_DIRECT missing or unexpected, or a read-only disk opened for writing", () => {
    assert.ok(
      rules(facts("none", "native", { openImages: [open(false)] })).includes("open-flags-mismatch:warning"),
    );
    assert.ok(
      rules(facts("writeback", null, { openImages: [open(true)] })).includes("open-flags-mismatch:warning"),
    );
    const ro = facts("none", "native", {
      live: def({ readonly: true }),
      openImages: [open(true, "read-write")],
    });
    assert.ok(rules(ro).includes("open-flags-mismatch:warning"));
    assert.ok(
      !rules(facts("none", "native", { openImages: [open(true)] })).includes("open-flags-mismatch:warning"),
    );
  });
});

test("the mode in effect comes from query-block, then the command line, then the definitions", () => {
  const qb = queryBlock("writethrough");
  assert.deepEqual(effectiveMode(facts("none", "native", { queryBlock: qb }), RUNNING), {
    mode: "writethrough",
    cache: flags("writethrough"),
    aio: "native",
    from: "query-block",
  });
  assert.equal(effectiveMode(facts("none", "native"), RUNNING).from, "QEMU command line");
  const hotplugged = facts("unsafe", null, { cmdline: null });
  assert.deepEqual(effectiveMode(hotplugged, RUNNING), {
    mode: "unsafe",
    cache: flags("unsafe"),
    aio: "threads",
    from: "live definition",
  });
  const off = effectiveMode(
    { ...facts("directsync", "native"), live: null, cmdline: null },
    { running: false, persistent: true },
  );
  assert.equal(off.from, "persistent definition");
  assert.equal(off.mode, "directsync");
});

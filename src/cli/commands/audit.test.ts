import assert from "node:assert/strict";
import { test } from "node:test";
import { cacheMode } from "../../model/cache-modes.ts";
import type { DomainAudit, Finding } from "../../audit/types.ts";
import { colors } from "../colors.ts";
import { CliError } from "../errors.ts";
import { run } from "../main.ts";
import { captureIo } from "../testing.ts";
import { selectDomains } from "./audit.ts";
import { hasFindingAtLeast, renderReport, severityCounts, wrap } from "./audit-report.ts";

test("kvmon audit --help: every option, the cache mode table, examples and the taint warning", async () => {
  const io = captureIo();
  assert.equal(await run(["audit", "--help"], io), 0);
  for (const flag of ["--json", "--qmp", "--fail-on", "--window", "--uri"])
    assert.match(io.stdout, new RegExp(flag));
  for (const mode of ["writeback", "none", "writethrough", "directsync", "unsafe", "default"]) {
    assert.match(io.stdout, new RegExp(`^  ${mode} `, "m"));
  }
  assert.match(io.stdout, /tainted/);
  assert.match(io.stdout, /Examples:/);
});

test("bad flag values are usage errors (exit 2) before libvirt is asked", async () => {
  for (const argv of [
    ["audit", "--fail-on", "severe"],
    ["audit", "--window", "-1"],
    ["audit", "--window", "soon"],
    ["audit", "--bogus"],
  ]) {
    const io = captureIo();
    assert.equal(await run(argv, io), 2, argv.join(" "));
    assert.match(io.stderr, /kvmon: /);
  }
});

test("an unknown VM fails with the names close to it", () => {
  const all = ["kvmon-lab-1", "kvmon-lab-2", "db"].map((name, i) => ({ name, uuid: `u${i}`, id: i }));
  assert.deepEqual(
    selectDomains(all, []).map((d) => d.name),
    ["db", "kvmon-lab-1", "kvmon-lab-2"],
  );
  assert.deepEqual(
    selectDomains(all, ["kvmon-lab-2"]).map((d) => d.name),
    ["kvmon-lab-2"],
  );
  assert.throws(
    () => selectDomains(all, ["kvmon-lab-3"]),
    (e) =>
      e instanceof CliError &&
      e.code === "CLI_NO_DOMAIN" &&
      /no domain named 'kvmon-lab-3'; did you mean kvmon-lab-1, kvmon-lab-2\?/.test(e.message),
  );
});

const finding = (severity: Finding["severity"], rule: string): Finding => ({
  rule,
  severity,
  message: `${rule} found`,
  meaning: `${rule} means something`,
});

const audit: DomainAudit = {
  name: "web1",
  uuid: "u1",
  running: true,
  persistent: true,
  pid: 4242,
  notes: ["vdb: not on QEMU's command line (hot-plugged)"],
  disks: [
    {
      target: "vdb",
      persistent: null,
      live: {
        target: "vdb",
        device: "disk",
        type: "file",
        bus: "virtio",
        source: "/tmp/x.raw",
        format: "raw",
        cache: "unsafe",
        io: null,
        discard: null,
        shareable: false,
        readonly: false,
        alias: "virtio-disk1",
      },
      cmdline: null,
      queryBlock: null,
      openImages: [
        {
          fd: 92,
          path: "/tmp/x.raw",
          flagsOctal: "02100002",
          access: "read-write",
          direct: false,
          dsync: false,
          sync: false,
        },
      ],
      storage: "local",
      effective: {
        mode: "unsafe",
        cache: cacheMode("unsafe")!.flags,
        aio: "threads",
        from: "live definition",
      },
      latency: {
        windowSeconds: 2,
        read: 0.00042,
        write: 0.0123,
        flush: null,
        readRequests: 3,
        writeRequests: 9,
        flushRequests: 0,
      },
      findings: [
        finding("info", "live-only"),
        finding("critical", "unsafe-cache"),
        finding("warning", "migration-unsafe"),
      ],
    },
  ],
};

test("the report: the disk table, findings most severe first with their meaning, the modes in use, a summary", () => {
  const text = renderReport([audit], { qmp: false, colors: colors(false) });
  assert.match(text, /^web1 {2}running, QEMU pid 4242$/m);
  assert.match(text, /^ {2}DISK +FORMAT +NEXT BOOT +LIVE +QEMU RUNS +OPEN FLAGS +LATENCY ms r\/w\/flush$/m);
  assert.match(
    text,
    /^ {2}vdb +raw +- +unsafe\/default +unsafe\/threads \(live definition\) +fd92 rw +0\.42\/12\/-$/m,
  );
  const order = ["CRITICAL", "WARNING", "INFO"].map((s) => text.indexOf(`  ${s}`));
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
  );
  assert.match(text, /unsafe-cache means something/);
  assert.match(
    text,
    /^Cache modes in use:\n {2}unsafe +like writeback, but the guest's flush requests are ignored/m,
  );
  assert.match(text, /1 domain\(s\), 1 disk\(s\): 1 critical, 1 warning\(s\), 1 info$/m);
  assert.doesNotMatch(text, /\x1b\[/, "no colour codes when colours are off");
  assert.match(renderReport([audit], { qmp: false, colors: colors(true) }), /\x1b\[31m/);
  assert.match(renderReport([audit], { qmp: true, colors: colors(false) }), /tainted, custom-monitor/);
});

test("--fail-on thresholds and the counts", () => {
  assert.deepEqual(severityCounts([audit]), { info: 1, warning: 1, critical: 1 });
  assert.equal(hasFindingAtLeast([audit], "critical"), true);
  const mild = { ...audit, disks: [{ ...audit.disks[0]!, findings: [finding("warning", "writeback")] }] };
  assert.equal(hasFindingAtLeast([mild], "critical"), false);
  assert.equal(hasFindingAtLeast([mild], "warning"), true);
  assert.equal(hasFindingAtLeast([mild], "info"), true);
});

test("wrap keeps words whole within the width", () => {
  assert.deepEqual(wrap("aa bb cc dd", 5), ["aa bb", "cc dd"]);
  assert.deepEqual(wrap("averyveryverylongword x", 5), ["averyveryverylongword", "x"]);
});

/**
 * `kvmon audit` on the real lab, with witnesses of its own: QMP query-block through `virsh
 * qemu-monitor-command`, and the image's open flags read with a few lines of shell (readlink on
 * /proc/<pid>/fd, `flags:` of fdinfo). Domain changes are undone in `finally`: the hot-attached unsafe disk is
 * detached and its file removed; the edited persistent definition is defined back byte for byte.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { writeDisk } from "../../src/lab/workload.ts";
import { labGuests } from "../lab.ts";
import { virsh } from "../libvirt-helpers.ts";

const URI = "qemu:///system";
const main = join(import.meta.dirname, "../../src/cli/main.ts");
const execFileP = promisify(execFile);
const [first, second] = labGuests as [string, string];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `kvmon audit ...args` from the sources: its exit code and output (never throws on a non-zero exit). */
async function audit(...args: string[]): Promise<Result> {
  try {
    const r = await execFileP(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", main, "audit", ...args],
      {
        timeout: 120_000,
        maxBuffer: 16 << 20,
        env: { ...process.env, NO_COLOR: "1" },
      },
    );
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof err.code !== "number") throw e;
    return { code: err.code, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

interface JsonDisk {
  target: string;
  live: { alias: string | null; source: string | null } | null;
  cmdline: { cache: Flags; aio: string } | null;
  queryBlock: { cache: Flags } | null;
  openImages: Array<{ fd: number; flagsOctal: string; direct: boolean }>;
  effective: { mode: string | null; cache: Flags | null; from: string };
  latency: { read: number | null; write: number | null; flush: number | null; writeRequests: number } | null;
  findings: Array<{ rule: string; severity: string; message: string }>;
}
interface JsonAudit {
  qmp: boolean;
  windowSeconds: number;
  summary: Record<string, number>;
  domains: Array<{ name: string; running: boolean; pid: number; disks: JsonDisk[]; notes: string[] }>;
}
type Flags = { writeback: boolean; direct: boolean; noFlush: boolean };

async function auditJson(...args: string[]): Promise<JsonAudit> {
  const r = await audit("--json", ...args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as JsonAudit;
}

/** The witness: QMP query-block through virsh, the cache flags of the device with this id. */
async function queryBlockWitness(domain: string, deviceId: string): Promise<Flags> {
  const reply = JSON.parse(await virsh(URI, "qemu-monitor-command", domain, '{"execute":"query-block"}')) as {
    return: Array<{
      qdev?: string;
      inserted?: { cache: { writeback: boolean; direct: boolean; "no-flush": boolean } };
    }>;
  };
  const entry = reply.return.find(
    (b) => b.qdev === deviceId || b.qdev?.startsWith(`/machine/peripheral/${deviceId}/`),
  );
  assert.ok(
    entry?.inserted,
    `${domain}: query-block has no medium for ${deviceId}: ${JSON.stringify(reply)}`,
  );
  const c = entry.inserted.cache;
  return { writeback: c.writeback, direct: c.direct, noFlush: c["no-flush"] };
}

/** The witness: the octal `flags:` of every descriptor QEMU holds on `path`, read by shell. */
async function fdFlagsWitness(domain: string, path: string): Promise<string[]> {
  const script = `pid=$(cat /run/libvirt/qemu/"$1".pid)
for fd in /proc/$pid/fd/*; do
  [ "$(readlink "$fd")" = "$2" ] && sed -n 's/^flags:[[:space:]]*//p' /proc/$pid/fdinfo/\${fd##*/}
done; true`;
  const r = await execFileP("sh", ["-c", script, "sh", domain, path], { timeout: 10_000 });
  return r.stdout.split("\n").filter(Boolean).sort();
}

const O_DIRECT = 0o40000;
const rulesOf = (d: JsonDisk) => d.findings.map((f) => `${f.rule}:${f.severity}`);

describe("kvmon audit on the lab", () => {
  test("every lab disk: the runtime view agrees with query-block and with the open flags", async () => {
    for (const qmp of [false, true]) {
      const result = await auditJson(...labGuests, "--window", "0", ...(qmp ? ["--qmp"] : []));
      assert.equal(result.qmp, qmp);
      assert.deepEqual(
        result.domains.map((d) => d.name),
        [...labGuests],
      );
      for (const domain of result.domains) {
        assert.ok(domain.running && domain.pid > 0, domain.name);
        assert.ok(domain.disks.length > 0, `${domain.name} has disks`);
        for (const disk of domain.disks) {
          const where = `${domain.name}/${disk.target}${qmp ? " --qmp" : ""}`;
          const alias = disk.live?.alias;
          assert.ok(alias && disk.live?.source, where);
          const witness = await queryBlockWitness(domain.name, alias);
          assert.deepEqual(disk.cmdline?.cache, witness, `${where}: command line vs query-block`);
          assert.deepEqual(disk.effective.cache, witness, `${where}: mode in effect vs query-block`);
          if (qmp) assert.deepEqual(disk.queryBlock?.cache, witness, `${where}: audit's query-block`);
          else assert.equal(disk.queryBlock, null, `${where}: no QMP without --qmp`);
          const flags = await fdFlagsWitness(domain.name, disk.live.source);
          assert.ok(flags.length > 0, `${where}: QEMU holds the image open`);
          assert.deepEqual(disk.openImages.map((o) => o.flagsOctal).sort(), flags, `${where}: open flags`);
          for (const f of flags) {
            assert.equal((Number.parseInt(f, 8) & O_DIRECT) !== 0, witness.direct, `${where}: O_DIRECT ${f}`);
          }
          const mismatches = disk.findings.filter((f) => /mismatch|differs/.test(f.rule));
          assert.deepEqual(mismatches, [], `${where}: no mismatch on an untouched lab disk`);
        }
      }
    }
  });

  test("a hot-attached cache='unsafe' disk is flagged critical; --fail-on sets the exit code", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kvmon-audit-"));
    await chmod(dir, 0o755); // QEMU runs as libvirt's qemu user
    const image = join(dir, "scratch.raw");
    await writeFile(image, "");
    await truncate(image, 8 << 20);
    const xmlFile = join(dir, "disk.xml");
    await writeFile(
      xmlFile,
      `<disk type='file' device='disk'><driver name='qemu' type='raw' cache='unsafe'/>` +
        `<source file='${image}'/><target dev='vdz' bus='virtio'/></disk>`,
    );
    await virsh(URI, "attach-device", first, xmlFile, "--live");
    try {
      const result = await auditJson(first, "--window", "0", "--qmp");
      const disk = result.domains[0]!.disks.find((d) => d.target === "vdz");
      assert.ok(disk, "the hot-plugged disk is audited");
      assert.equal(disk.effective.mode, "unsafe");
      assert.ok(rulesOf(disk).includes("unsafe-cache:critical"), JSON.stringify(disk.findings));
      assert.ok(rulesOf(disk).includes("live-only:info"));
      assert.equal(disk.cmdline, null, "hot-plugged disks are not on QEMU's command line");
      const witness = await queryBlockWitness(first, disk.live!.alias!);
      assert.deepEqual(witness, { writeback: true, direct: false, noFlush: true });
      assert.deepEqual(disk.queryBlock?.cache, witness);
      const flags = await fdFlagsWitness(first, image);
      assert.deepEqual(disk.openImages.map((o) => o.flagsOctal).sort(), flags);
      assert.ok(
        flags.every((f) => (Number.parseInt(f, 8) & O_DIRECT) === 0),
        "unsafe: no O_DIRECT",
      );
      assert.ok(result.summary.critical! >= 1);

      const text = await audit(first, "--window", "0");
      assert.equal(text.code, 0, "no --fail-on: findings do not change the exit code");
      assert.match(
        text.stdout,
        /CRITICAL vdz: flushes are ignored \(cache=unsafe\) on a writable disk \[unsafe-cache\]/,
      );
      assert.match(text.stdout, /lost|loses/);
      assert.equal((await audit(first, "--window", "0", "--fail-on", "critical")).code, 3);
      assert.equal((await audit(first, "--window", "0", "--fail-on", "warning")).code, 3);
      assert.equal((await audit(second, "--window", "0", "--fail-on", "critical")).code, 0);
    } finally {
      await virsh(URI, "detach-device", first, xmlFile, "--live").catch(() => "");
      for (let i = 0; i < 40 && (await virsh(URI, "domblklist", first)).includes("vdz"); i++)
        await sleep(500);
      await rm(dir, { recursive: true, force: true });
    }
    assert.doesNotMatch(await virsh(URI, "domblklist", first), /vdz/, "the scratch disk was detached");
  });

  test("a persistent definition changed while running: 'the next boot uses another mode'", async () => {
    const original = await virsh(URI, "dumpxml", "--inactive", second);
    const changed = original.replace(
      /(<driver name='qemu' type='qcow2') cache='none' io='native'/,
      "$1 cache='writeback'",
    );
    assert.notEqual(changed, original, "the lab disk is cache='none' io='native'");
    const dir = await mkdtemp(join(tmpdir(), "kvmon-audit-"));
    try {
      await writeFile(join(dir, "changed.xml"), changed);
      await writeFile(join(dir, "original.xml"), original);
      await virsh(URI, "define", join(dir, "changed.xml"));
      try {
        const result = await auditJson(second, "--window", "0");
        const disk = result.domains[0]!.disks[0]!;
        const differs = disk.findings.find((f) => f.rule === "next-boot-differs");
        assert.equal(differs?.severity, "warning");
        assert.match(
          differs!.message,
          /the next boot uses another mode: the persistent definition says cache=writeback/,
        );
        assert.equal(disk.effective.mode, "none", "what runs now is unchanged");
        assert.ok(
          disk.findings.some((f) => f.rule === "migration-unsafe" && f.message.startsWith("next boot: ")),
        );
        assert.equal((await audit(second, "--window", "0", "--fail-on", "warning")).code, 3);
        assert.equal((await audit(second, "--window", "0", "--fail-on", "critical")).code, 0);
      } finally {
        await virsh(URI, "define", join(dir, "original.xml"));
      }
      assert.equal(await virsh(URI, "dumpxml", "--inactive", second), original, "the definition is restored");
      assert.equal(
        (await audit(second, "--window", "0", "--fail-on", "info")).code,
        0,
        "the lab disk is clean",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("latency over the window while the guest writes: write and flush latency measured", async () => {
    let done = false;
    const run = auditJson(second, "--window", "6").finally(() => {
      done = true;
    });
    while (!done) await writeDisk(second, 2);
    const result = await run;
    const latency = result.domains[0]!.disks[0]!.latency;
    assert.ok(latency, "latency measured");
    assert.ok(latency.writeRequests > 0, JSON.stringify(latency));
    assert.ok(latency.write !== null && latency.write > 0 && latency.write < 10, `write ${latency.write}`);
    assert.ok(latency.flush !== null && latency.flush > 0 && latency.flush < 10, `flush ${latency.flush}`);
    assert.equal(result.windowSeconds, 6);
  });

  test("--json shape, an unknown VM with near matches, no libvirt reachable", async () => {
    const result = await auditJson(first, "--window", "0");
    assert.deepEqual(Object.keys(result).sort(), ["domains", "qmp", "summary", "windowSeconds"]);
    assert.deepEqual(Object.keys(result.summary).sort(), ["critical", "info", "warning"]);
    const disk = result.domains[0]!.disks[0]!;
    for (const key of [
      "target",
      "persistent",
      "live",
      "cmdline",
      "queryBlock",
      "openImages",
      "storage",
      "effective",
      "latency",
      "findings",
    ]) {
      assert.ok(key in disk, key);
    }
    const unknown = await audit("kvmon-lab-9");
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /\[CLI_NO_DOMAIN\] no domain named 'kvmon-lab-9'; did you mean kvmon-lab-1, kvmon-lab-2/,
    );
    const down = await audit("--uri", "qemu+unix:///system?socket=/nonexistent/sock");
    assert.equal(down.code, 1);
    assert.match(down.stderr, /\[CLI_NO_LIBVIRT\] cannot reach libvirt/);
    assert.match(down.stderr, /hint: start libvirtd/);
  });
});

/**
 * The pure-TypeScript libvirt client against the real local daemon, with `virsh` (the C library) as the
 * witness: rw and ro sockets for qemu:///system, and test+unix:///default for writes and events without
 * touching real guests. The lab's guests are only read, never changed.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { exec, sortedLines, virsh, withClient } from "../libvirt-helpers.ts";
import {
  DomainStatsFlag,
  ErrorCode,
  LibvirtError,
  type LifecycleEvent,
  LifecycleEventType,
  P,
} from "../../src/protocol/libvirt/index.ts";

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
before(() => process.on("unhandledRejection", onUnhandled));
after(() => {
  process.off("unhandledRejection", onUnhandled);
  assert.deepEqual(unhandled, [], "unhandled promise rejections");
});

test("qemu:///system read-write: versions, node info and the domain list match virsh", async () => {
  await withClient("qemu:///system", {}, async (c) => {
    assert.equal(await c.uri(), "qemu:///system");
    assert.equal(await c.type(), "QEMU");
    assert.equal(await c.libVersion(), 9_000_000);
    const hv = (await virsh("qemu:///system", "version")).match(
      /Running hypervisor: QEMU (\d+)\.(\d+)\.(\d+)/,
    );
    assert.ok(hv);
    assert.equal(await c.version(), Number(hv[1]) * 1e6 + Number(hv[2]) * 1e3 + Number(hv[3]));
    assert.equal(await c.hostname(), (await exec("hostname")).stdout.trim());
    const info = await c.nodeInfo();
    assert.ok(info.cpus > 0 && info.memoryKiB > 0n);
    const doms = await c.listAllDomains();
    assert.deepEqual(
      doms.map((d) => d.name).sort(),
      sortedLines(await virsh("qemu:///system", "list", "--all", "--name")),
    );
    for (const d of doms) {
      assert.deepEqual(await c.lookupByUuid(d.uuid), d);
      assert.equal((await virsh("qemu:///system", "domuuid", d.name)).trim(), d.uuid);
    }
    await assert.rejects(
      c.lookupByName(`no-such-${randomUUID()}`),
      (e) => e instanceof LibvirtError && e.isNoDomain(),
    );
  });
});

test("read-only socket: reads work, writes are refused with OPERATION_DENIED", async () => {
  await withClient("qemu:///system", { readOnly: true }, async (c) => {
    assert.ok(Array.isArray(await c.listAllDomains()));
    const xml = `<domain type='qemu'><name>kvmon-ro-${randomUUID().slice(0, 8)}</name><memory>65536</memory><os><type>hvm</type></os></domain>`;
    await assert.rejects(c.define(xml), (e) => {
      assert.ok(e instanceof LibvirtError);
      // libvirt checks the RO flag before any ACL: VIR_ERR_OPERATION_DENIED (29), not ACCESS_DENIED (88).
      assert.equal(e.libvirtCode, ErrorCode.OPERATION_DENIED);
      assert.ok(e.isAccessDenied());
      assert.match(e.message, /read only access prevents virDomainDefineXML/);
      return true;
    });
  });
});

test("qemu:///system read-only: bulk stats of running guests have the same fields as virsh domstats", async () => {
  const uri = "qemu:///system";
  await withClient(uri, { readOnly: true }, async (c) => {
    // The agent's flags: active domains, never wait on a busy domain's job lock.
    const records = await c.getAllDomainStats({ flags: DomainStatsFlag.ACTIVE | DomainStatsFlag.NOWAIT });
    const running = sortedLines(await virsh(uri, "list", "--name"));
    assert.deepEqual(records.map((r) => r.domain.name).sort(), running);
    for (const r of records) {
      const keys = (await virsh(uri, "domstats", r.domain.name))
        .split("\n")
        .map((l) => l.trim().split("=")[0]!)
        .filter((k) => k && !k.startsWith("Domain:"));
      assert.deepEqual([...r.params.keys()].sort(), keys.sort(), r.domain.name);
      assert.equal(typeof r.params.get("cpu.time"), "bigint");
    }
    // Event registration is allowed on a read-only connection (the agent relies on it).
    const sub = await c.lifecycleEvents();
    sub.close();
  });
});

test("test+unix:///default: bulk stats equal virsh domstats", async () => {
  const uri = "test+unix:///default";
  await withClient(uri, {}, async (c) => {
    assert.equal(await c.type(), "TEST");
    const records = await c.getAllDomainStats();
    const running = sortedLines(await virsh(uri, "list", "--name"));
    assert.deepEqual(
      records.map((r) => r.domain.name).sort(),
      (await c.listAllDomains()).map((d) => d.name).sort(),
    );
    for (const name of running) {
      const rec = records.find((r) => r.domain.name === name);
      assert.ok(rec, name);
      const expected = (await virsh(uri, "domstats", name))
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.includes("="))
        .map((l) => l.split("=") as [string, string]);
      assert.deepEqual([...rec.params].map(([k, v]) => [k, String(v)]).sort(), expected.sort());
    }
    // Group filtering reaches the daemon: STATE only.
    const stateOnly = await c.getAllDomainStats({ stats: 1 });
    for (const r of stateOnly) assert.ok([...r.params.keys()].every((k) => k.startsWith("state.")));
  });
});

test("test driver: define, start, suspend, resume, destroy, undefine with lifecycle events", async () => {
  await withClient("test+unix:///default", {}, async (c) => {
    const name = `kvmon-it-${randomUUID().slice(0, 8)}`;
    const events = await c.lifecycleEvents();
    const xml = `<domain type='test'><name>${name}</name><memory>65536</memory><os><type>hvm</type></os></domain>`;
    const dom = await c.define(xml);
    try {
      assert.equal(dom.name, name);
      assert.equal(dom.id, -1);
      await c.create(dom);
      const running = await c.lookupByName(name);
      assert.ok(running.id > 0);
      assert.equal((await c.domainState(running)).state, 1);
      await c.suspend(running);
      assert.equal((await c.domainInfo(running)).state, 3);
      await c.resume(running);
      assert.equal((await c.domainState(running)).state, 1);
      await c.destroy(running);
      assert.equal((await c.domainState(running)).state, 5);
      assert.match(await c.domainXml(running), new RegExp(`<name>${name}</name>`));
    } finally {
      await c.undefine(dom);
    }
    const mine: number[] = [];
    for await (const e of events as AsyncIterable<LifecycleEvent>) {
      if (e.domain.name !== name) continue;
      mine.push(e.event);
      if (e.event === LifecycleEventType.UNDEFINED) break;
    }
    const E = LifecycleEventType;
    assert.deepEqual(mine, [E.DEFINED, E.STARTED, E.SUSPENDED, E.RESUMED, E.STOPPED, E.UNDEFINED]);
  });
});

test("flagged variants and transient domains (procedures 10, 231, 234, 350)", async () => {
  await withClient("test+unix:///default", {}, async (c) => {
    const name = `kvmon-it-${randomUUID().slice(0, 8)}`;
    const xml = `<domain type='test'><name>${name}</name><memory>65536</memory><os><type>hvm</type></os></domain>`;
    const dom = await c.define(xml, 1 /* VALIDATE */);
    await c.undefine(dom, 2 /* SNAPSHOTS_METADATA */);
    await assert.rejects(c.lookupByName(name), (e) => e instanceof LibvirtError && e.isNoDomain());
    const t = await c.createXml(xml.replace(name, `${name}-t`));
    assert.ok(t.id > 0);
    await c.destroy(t, 0);
    await c.destroy(await c.createXml(xml.replace(name, `${name}-g`)), 1 /* GRACEFUL */);
    await assert.rejects(c.lookupByName(`${name}-t`), (e) => e instanceof LibvirtError && e.isNoDomain());
  });
});

test("QEMU program procedures exist: the test driver answers 'not supported', not 'unknown procedure'", async () => {
  await withClient("test+unix:///default", {}, async (c) => {
    const [dom] = await c.listAllDomains();
    assert.ok(dom);
    for (const call of [() => c.qemuMonitorCommand(dom, "{}"), () => c.qemuAgentCommand(dom, "{}")]) {
      await assert.rejects(
        call(),
        (e) => e instanceof LibvirtError && e.libvirtCode === ErrorCode.NO_SUPPORT,
      );
    }
    // A procedure number the daemon does not know is an RPC error, which is what a wrong number would give.
    const bogus = { ...P.CONNECT_GET_HOSTNAME, number: 9999, name: "BOGUS" };
    await assert.rejects(
      c.call(bogus, undefined),
      (e) => e instanceof LibvirtError && e.libvirtCode === ErrorCode.RPC,
    );
  });
});

test("no handles or timers left after close", async () => {
  const before = process.getActiveResourcesInfo().sort();
  await withClient("qemu:///system", {}, async (c) => {
    await c.hostname();
    assert.ok(process.getActiveResourcesInfo().length > before.length);
  });
  assert.deepEqual(process.getActiveResourcesInfo().sort(), before);
});

/**
 * Reconnect against the real daemon: libvirtd is restarted (SIGTERM to the pid in /run/libvirtd.pid, then
 * started again the lab's way) under a connected ReconnectingLibvirtConnection. QEMU guests outlive libvirtd, so the lab
 * guests keep running. Calls in flight must fail at once with ConnectionClosedError, calls made while the
 * daemon is down fail at once with NotConnectedError, and the connection must be usable again within seconds
 * of the daemon coming back. libvirtd is running again afterwards whatever happens (finally), and the lab
 * lock is held meanwhile so no concurrent `lab up` races the restart.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { labPaths } from "../../src/lab/config.ts";
import { daemonPid, ensureDaemons, isAlive, LIBVIRTD } from "../../src/lab/daemons.ts";
import { withLabLock } from "../../src/lab/lock.ts";
import {
  ConnectionClosedError,
  LibvirtClient,
  LifecycleEventType,
  NotConnectedError,
  P,
  ReconnectingLibvirtConnection,
} from "../../src/protocol/libvirt/index.ts";
import { labGuests } from "../lab.ts";

const exec = promisify(execFile);
const URI = "qemu:///system";

/** A transient TCG domain of our own (lab kernel + initramfs, no disks): never a lab guest. */
function throwawayXml(name: string): string {
  const img = labPaths().image;
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>192</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>${join(img, "vmlinuz")}</kernel>
  <initrd>${join(img, "initrd.gz")}</initrd><cmdline>console=ttyS0 panic=5</cmdline></os>
  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>
  <devices><serial type='pty'><target port='0'/></serial><memballoon model='none'/></devices></domain>`;
}

async function waitExit(pid: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    assert.ok(Date.now() < deadline, `libvirtd pid ${pid} still alive ${ms} ms after SIGTERM`);
    await sleep(50);
  }
}

test("reconnect: libvirtd restarted under a connected client", async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  const baseline = process.getActiveResourcesInfo().sort();
  const conn = new ReconnectingLibvirtConnection(URI, {
    readOnly: true,
    initialDelayMs: 100,
    maxDelayMs: 1000,
    factor: 2,
  });
  const failures: Error[] = [];
  conn.on("connectFailed", (e) => failures.push(e));
  // Hold the lab lock while libvirtd is down: a concurrent run's global setup ('lab up') would otherwise
  // see the daemon gone and race us restarting it, or restart the guests.
  await withLabLock(
    labPaths().root,
    () => {},
    async () => {
      try {
        const first = await conn.waitConnected(10_000);
        const active = async (c: LibvirtClient) =>
          (await c.listAllDomains(1 /* ACTIVE */))
            .filter((d) => labGuests.includes(d.name))
            .map((d) => `${d.name}#${d.id}`)
            .sort();
        const runningBefore = await active(first);
        assert.equal(
          runningBefore.length,
          labGuests.length,
          `lab guests running before the restart: ${runningBefore}`,
        );

        // An event subscription made before the restart must be re-registered on the new connection.
        const events = conn.lifecycleEvents();
        const pid = await daemonPid(LIBVIRTD);
        assert.ok(pid, "libvirtd pid file names a live process");
        const disconnected = once(conn, "disconnected");
        // Many bulk-stats calls in flight: libvirtd works on 5 per client at a time, the rest are still queued
        // when it goes down, so some must be interrupted.
        const inflight = Array.from({ length: 200 }, () =>
          first.getAllDomainStats().then(
            () => "ok" as const,
            (e: unknown) => e,
          ),
        );
        const tKill = performance.now();
        process.kill(pid, "SIGTERM");
        const results = await Promise.all(inflight);
        const settledMs = performance.now() - tKill;
        const failed = results.filter((r) => r !== "ok");
        assert.ok(failed.length > 0, "some calls were interrupted");
        for (const e of failed) {
          assert.ok(e instanceof ConnectionClosedError, `interrupted call failed with ${String(e)}`);
          assert.match(e.message, /CONNECT_GET_ALL_DOMAIN_STATS: interrupted/);
        }
        await disconnected;
        assert.ok(first.closed);
        // Fail fast while down: nothing is queued, nothing waits for a timeout.
        assert.notEqual(conn.state, "connected");
        assert.throws(() => conn.client, NotConnectedError);
        await assert.rejects(conn.call(P.CONNECT_GET_HOSTNAME, undefined), NotConnectedError);
        await assert.rejects(first.hostname(), ConnectionClosedError);

        await waitExit(pid, 30_000);
        const tStart = performance.now();
        // Started the lab's way (with its loopback TCP/TLS listeners), so later tests find the same daemon.
        await ensureDaemons(() => {});
        const second = await conn.waitConnected(30_000);
        const upMs = performance.now() - tStart;
        const totalMs = performance.now() - tKill;
        assert.notEqual(second, first);
        assert.equal(await second.uri(), URI);
        const pid2 = await daemonPid(LIBVIRTD);
        assert.ok(pid2 && pid2 !== pid, "a new libvirtd");
        // The QEMU guests survived the daemon restart: still running with the same domain ids (not restarted).
        assert.deepEqual(await conn.with(active), runningBefore);
        assert.equal(
          (await conn.call(P.CONNECT_GET_HOSTNAME, undefined)).hostname,
          (await exec("hostname")).stdout.trim(),
        );
        // Lifecycle events flow again through the subscription made before the restart.
        const name = `kvmon-test-${randomBytes(4).toString("hex")}`;
        const rw = await LibvirtClient.open(URI);
        try {
          const dom = await rw.createXml(throwawayXml(name));
          await rw.destroy(dom);
        } finally {
          await rw.close();
        }
        const seen: number[] = [];
        const guard = setTimeout(() => events.close(new Error("no lifecycle event within 30 s")), 30_000);
        for await (const e of events) {
          if (e.domain.name !== name) continue;
          seen.push(e.event);
          if (e.event === LifecycleEventType.STOPPED) break;
        }
        clearTimeout(guard);
        assert.ok(seen.includes(LifecycleEventType.STARTED), `events after reconnect: ${seen}`);
        t.diagnostic(
          `${failed.length}/200 in-flight calls interrupted, all settled ${settledMs.toFixed(0)} ms after SIGTERM; ` +
            `usable ${upMs.toFixed(0)} ms after libvirtd was started (${totalMs.toFixed(0)} ms after SIGTERM, ` +
            `${failures.length} failed attempts in between)`,
        );
        // Generous bounds: a loaded CI machine must not flake, a hang or a lost reconnect must fail.
        assert.ok(settledMs < 10_000, `in-flight calls settled after ${settledMs} ms`);
        assert.ok(upMs < 15_000, `usable again after ${upMs} ms`);
      } finally {
        await conn.close();
        // Bring libvirtd back if this test left it down (ensureDaemons waits until its socket answers).
        if (!(await daemonPid(LIBVIRTD))) await ensureDaemons(() => {});
        process.off("unhandledRejection", onUnhandled);
      }
    },
  );
  assert.equal(conn.state, "closed");
  assert.deepEqual(unhandled, [], "unhandled promise rejections");
  // One turn of the event loop lets libuv finish close requests of child-process pipes (exec above).
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(process.getActiveResourcesInfo().sort(), baseline, "handles left open after close()");
});

test("reconnect: after the restart a plain client connects and the lab guests answer", async () => {
  // Guards the rest of the run: the daemon the other tests use is back and fully serving.
  const c = await LibvirtClient.open(URI, { readOnly: true });
  try {
    const stats = await c.getAllDomainStats({
      domains: await Promise.all(labGuests.map((g) => c.lookupByName(g))),
    });
    assert.deepEqual(
      stats.map((r) => r.params.get("state.state")),
      labGuests.map(() => 1),
    );
  } finally {
    await c.close();
  }
});

/**
 * The guest-agent client over a unix socket, against REAL qemu-ga processes started on this host with
 * `qemu-ga -m unix-listen` (the lab installs qemu-guest-agent; root). The host itself is the "guest", so
 * the host's own view is the witness: hostname, /etc/os-release, network interfaces, a shell's exit code.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { hostname, networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  QgaClient,
  QgaCommands,
  QgaSocketTransport,
  QgaUnavailableError,
} from "../../src/protocol/qga/index.ts";
import { TimeoutError } from "../../src/shared/errors.ts";
import { killAgentProcess, startQemuGa } from "../qga-process.ts";

let dir = "";
let sock = "";
let agent: ChildProcess | null = null;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kvmon-qga-"));
  sock = join(dir, "qga.sock");
  agent = await startQemuGa(sock, dir);
});

after(async () => {
  if (agent) await killAgentProcess(agent);
  await rm(dir, { recursive: true, force: true });
});

test("ping, info (the command list), host name, OS, filesystems and interfaces match the host itself", async () => {
  const c = new QgaClient(new QgaSocketTransport(sock));
  try {
    await c.ping();
    const info = await c.info();
    assert.match(info.version, /^\d+\.\d+/);
    const names = info.supported_commands.map((x) => x.name);
    for (const n of ["guest-ping", "guest-exec", "guest-get-fsinfo", "guest-network-get-interfaces"])
      assert.ok(names.includes(n), n);

    assert.equal((await c.call(QgaCommands.hostName, undefined))["host-name"], hostname());
    const os = await c.call(QgaCommands.osInfo, undefined);
    const release = await readFile("/etc/os-release", "utf8");
    assert.equal(os.id, /^ID=(.*)$/m.exec(release)?.[1]?.replace(/"/g, ""));

    const ifaces = await c.call(QgaCommands.networkInterfaces, undefined);
    // Interfaces with addresses (Node's view) are a subset of the agent's (which lists every link).
    const agentNames = ifaces.map((i) => i.name);
    for (const name of Object.keys(networkInterfaces())) assert.ok(agentNames.includes(name), name);
    const lo = ifaces.find((i) => i.name === "lo");
    assert.ok(lo?.["ip-addresses"]?.some((a) => a["ip-address"] === "127.0.0.1" && a.prefix === 8));
    assert.equal(typeof lo?.statistics?.["rx-bytes"], "bigint");

    const mounts = (await readFile("/proc/mounts", "utf8")).split("\n").map((l) => l.split(" ")[1]);
    for (const fs of await c.call(QgaCommands.fsInfo, undefined))
      assert.ok(mounts.includes(fs.mountpoint), fs.mountpoint);

    const ns = await c.call(QgaCommands.time, undefined);
    assert.equal(typeof ns, "bigint");
    assert.ok(ns > 2n ** 53n, "guest-get-time exceeds 2^53 and stays exact");
    const driftMs = Number(ns / 1_000_000n) - Date.now();
    assert.ok(Math.abs(driftMs) < 5000, `same clock: ${driftMs} ms`);
  } finally {
    await c.close();
  }
});

test("exec returns exit code, stdout and stderr; readFile reads a guest file", async () => {
  const c = new QgaClient(new QgaSocketTransport(sock));
  try {
    const r = await c.exec(["/bin/sh", "-c", "read x; echo out $x; echo err >&2; exit 7"], { input: "in\n" });
    assert.deepEqual(r, { exitcode: 7, stdout: "out in\n", stderr: "err\n" });
    assert.equal((await c.readFile("/etc/hostname")).toString(), await readFile("/etc/hostname", "utf8"));
  } finally {
    await c.close();
  }
});

test("a timeout is followed by a resync: the late reply is never taken for the next call's", async () => {
  const c = new QgaClient(new QgaSocketTransport(sock));
  try {
    await c.ping();
    agent!.kill("SIGSTOP"); // the agent reads nothing until continued
    await assert.rejects(c.ping({ timeoutMs: 300 }), TimeoutError);
    agent!.kill("SIGCONT"); // it now answers the abandoned ping with {}
    // A host-name reply of {} would fail the schema; the resync drops it.
    assert.equal((await c.call(QgaCommands.hostName, undefined))["host-name"], hostname());
  } finally {
    agent!.kill("SIGCONT");
    await c.close();
  }
});

test("a killed agent is a QgaUnavailableError; the transport reconnects once it is back", async () => {
  const c = new QgaClient(new QgaSocketTransport(sock));
  try {
    await c.ping();
    await killAgentProcess(agent!);
    await assert.rejects(c.ping({ timeoutMs: 2000 }), QgaUnavailableError);
    await assert.rejects(c.ping({ timeoutMs: 2000 }), QgaUnavailableError); // refused: nobody listens
    agent = await startQemuGa(sock, dir);
    await c.ping();
    assert.equal((await c.call(QgaCommands.hostName, undefined))["host-name"], hostname());
  } finally {
    await c.close();
  }
});

/**
 * Guest agents as host processes on unix sockets, for tests of the socket channel: a real `qemu-ga -m
 * unix-listen` (the lab installs qemu-guest-agent; root), or test/fake-qga.ts, a hostile one.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/** Resolves once `p` created `sock` (it listens), or fails naming `what`. */
async function listening(p: ChildProcess, sock: string, what: string): Promise<ChildProcess> {
  for (let i = 0; i < 250 && !existsSync(sock) && p.exitCode === null; i++) await sleep(20);
  assert.ok(existsSync(sock), `${what} did not create ${sock}`);
  return p;
}

/** qemu-ga listening on `sock`, its state in `stateDir`. */
export async function startQemuGa(sock: string, stateDir: string): Promise<ChildProcess> {
  await rm(sock, { force: true });
  const p = spawn("qemu-ga", ["-m", "unix-listen", "-p", sock, "-t", stateDir], { stdio: "ignore" });
  return listening(p, sock, "qemu-ga");
}

/** test/fake-qga.ts listening on `sock`, misbehaving as `mode` says (see that file). */
export async function startFakeQga(sock: string, mode: string): Promise<ChildProcess> {
  await rm(sock, { force: true });
  const script = new URL("./fake-qga.ts", import.meta.url).pathname;
  const p = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", script, sock, mode], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  return listening(p, sock, `fake-qga ${mode}`);
}

/** SIGKILL: a test agent has no state worth saving, and qemu-ga's SIGTERM exit was seen to hang here. */
export async function killAgentProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = once(p, "exit");
  p.kill("SIGKILL");
  await exited;
}

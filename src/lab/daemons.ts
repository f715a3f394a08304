/**
 * virtlogd and libvirtd without systemd: the lab starts each one with `-d` when its socket does not accept a
 * connection, then waits (bounded) until it does. virtlogd must come first, or QEMU domains fail to start.
 */
import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import { LabError, LabTimeoutError } from "./errors.ts";
import { run } from "./exec.ts";
import type { Progress } from "./progress.ts";

export interface DaemonSpec {
  name: "virtlogd" | "libvirtd";
  socket: string;
  pidFile: string;
}

export const VIRTLOGD: DaemonSpec = {
  name: "virtlogd",
  socket: "/run/libvirt/virtlogd-sock",
  pidFile: "/run/virtlogd.pid",
};
export const LIBVIRTD: DaemonSpec = {
  name: "libvirtd",
  socket: "/run/libvirt/libvirt-sock",
  pidFile: "/run/libvirtd.pid",
};

/** True when a unix socket accepts a connection within `timeoutMs` (a stale socket file does not count). */
export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

/** The pid in a daemon's pid file when that process is alive, else undefined. */
export async function daemonPid(spec: DaemonSpec): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(spec.pidFile, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  return isAlive(pid) ? pid : undefined; // not alive: a stale pid file left by a daemon that died
}

async function ensureDaemon(spec: DaemonSpec, progress: Progress, timeoutMs: number): Promise<void> {
  if (await socketAnswers(spec.socket)) return;
  progress(`${spec.name}: starting (${spec.name} -d)`);
  await run(spec.name, ["-d"], {
    timeoutMs: 30_000,
    hint: `run '${spec.name} -v' in a terminal to see why it will not start`,
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await socketAnswers(spec.socket)) {
      progress(`${spec.name}: running (pid ${(await daemonPid(spec)) ?? "?"})`);
      return;
    }
    await sleep(100);
  }
  throw new LabTimeoutError(
    `${spec.name} started but ${spec.socket} did not answer within ${timeoutMs / 1000} s`,
    {
      hint: `run '${spec.name} -v' in a terminal to see its errors; check /var/log/libvirt/`,
    },
  );
}

/** Starts virtlogd, then libvirtd, when they are not serving their sockets. */
export async function ensureDaemons(progress: Progress, timeoutMs = 20_000): Promise<void> {
  await ensureDaemon(VIRTLOGD, progress, timeoutMs);
  await ensureDaemon(LIBVIRTD, progress, timeoutMs);
}

/**
 * Stops libvirtd and virtlogd by the pids in their pid files (only on explicit request: other users of this
 * host may rely on them). Waits, bounded, until each has exited.
 */
export async function stopDaemons(progress: Progress, timeoutMs = 20_000): Promise<void> {
  for (const spec of [LIBVIRTD, VIRTLOGD]) {
    const pid = await daemonPid(spec);
    if (pid === undefined) continue;
    progress(`${spec.name}: stopping pid ${pid}`);
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + timeoutMs;
    while (isAlive(pid)) {
      if (Date.now() > deadline) {
        throw new LabError(`${spec.name} (pid ${pid}) did not exit within ${timeoutMs / 1000} s of SIGTERM`, {
          hint: `look at it with 'ps -p ${pid} -o pid,stat,cmd'; 'kill -9 ${pid}' if it is stuck`,
        });
      }
      await sleep(100);
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error; // EPERM would mean alive but not ours to signal; the lab runs as root, so unexpected
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

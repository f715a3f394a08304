/**
 * virtlogd and libvirtd without systemd: the lab starts each one with `-d` when its socket does not accept a
 * connection, then waits (bounded) until it does. virtlogd must come first, or QEMU domains fail to start.
 *
 * libvirtd runs as `libvirtd -d --listen -f <lab dir>/libvirtd.conf` (libvirtd-conf.ts): the default unix
 * sockets plus TCP 127.0.0.1:16509 and TLS 127.0.0.1:16514 (certificates from pki.ts). A libvirtd that runs
 * without them (started by hand, by a test with plain `libvirtd -d`, or with an older config) is restarted
 * once: SIGTERM to the pid in /run/libvirtd.pid, wait for it to exit, start again. QEMU guests outlive
 * libvirtd; its clients see a disconnect.
 */
import { readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { labPaths } from "./config.ts";
import { LabError, LabTimeoutError } from "./errors.ts";
import { run } from "./exec.ts";
import {
  activeSettings,
  LISTEN_ADDR,
  libvirtdArgs,
  libvirtdLabConfig,
  startedWithLabConfig,
  TCP_PORT,
  TLS_PORT,
} from "./libvirtd-conf.ts";
import { ensureLabPki } from "./pki.ts";
import { type Progress, waitingFor } from "./progress.ts";

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
  return answers(() => connect(path), timeoutMs);
}

function answers(open: () => ReturnType<typeof connect>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = open();
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
  await startDaemon(spec, ["-d"], progress, timeoutMs);
}

async function startDaemon(
  spec: DaemonSpec,
  args: string[],
  progress: Progress,
  timeoutMs: number,
  ready: () => Promise<boolean> = () => socketAnswers(spec.socket),
  what = spec.socket,
): Promise<void> {
  const shown = `${spec.name} ${args.join(" ")}`;
  progress(`${spec.name}: starting (${shown})`);
  await run(spec.name, args, {
    timeoutMs: 30_000,
    hint: `run '${shown.replace(/ -d\b/, "")} -v' in a terminal to see why it will not start`,
  });
  const poll = async (): Promise<boolean> => {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
      if (await ready()) return true;
    }
    return false;
  };
  if (await waitingFor(progress, `${spec.name} to answer on ${what}`, poll())) {
    progress(`${spec.name}: running (pid ${(await daemonPid(spec)) ?? "?"})`);
    return;
  }
  throw new LabTimeoutError(`${spec.name} started but ${what} did not answer within ${timeoutMs / 1000} s`, {
    hint: `run '${shown.replace(/ -d\b/, "")} -v' in a terminal to see its errors; check /var/log/libvirt/`,
  });
}

/** Where the lab's libvirtd config lives. */
export function libvirtdConfPath(labRoot = labPaths().root): string {
  return join(labRoot, "libvirtd.conf");
}

/** The command line of a live process (empty when it is gone). */
async function cmdline(pid: number): Promise<string[]> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter((a) => a !== "");
  } catch {
    return [];
  }
}

/**
 * Whether the lab's TCP and TLS ports are in LISTEN state on 127.0.0.1, read from /proc/net/tcp: probing them
 * with a connection would make libvirtd log a failed TLS handshake on every `lab up`.
 */
async function listenersAnswer(): Promise<boolean> {
  const text = await readFile("/proc/net/tcp", "utf8").catch(() => "");
  const listening = listeningIpv4(text);
  return listening.has(`${LISTEN_ADDR}:${TCP_PORT}`) && listening.has(`${LISTEN_ADDR}:${TLS_PORT}`);
}

/** "a.b.c.d:port" of every IPv4 socket in LISTEN state (st 0A) in /proc/net/tcp's text. */
export function listeningIpv4(procNetTcp: string): Set<string> {
  const out = new Set<string>();
  for (const line of procNetTcp.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    if (f[3] !== "0A" || !local || !/^[0-9A-F]{8}:[0-9A-F]{4}$/i.test(local)) continue;
    const [addr, port] = local.split(":") as [string, string];
    // The address is the in-memory u32 printed as hex: little-endian on x86, so 127.0.0.1 is 0100007F.
    const ip = [6, 4, 2, 0].map((i) => Number.parseInt(addr.slice(i, i + 2), 16)).join(".");
    out.add(`${ip}:${Number.parseInt(port, 16)}`);
  }
  return out;
}

/**
 * libvirtd with the lab's listeners: writes the PKI (once) and the config, then starts libvirtd, or restarts
 * a running one that lacks them (or runs with an older config or PKI).
 */
async function ensureLibvirtd(progress: Progress, timeoutMs: number, labRoot: string): Promise<void> {
  const { pki, created } = await ensureLabPki(labRoot, progress);
  const confPath = libvirtdConfPath(labRoot);
  const conf = libvirtdLabConfig(pki);
  const previous = await readFile(confPath, "utf8").catch(() => undefined);
  if (previous !== conf) await writeFile(confPath, conf, { mode: 0o644 });
  const changed = created || (previous !== undefined && previous !== conf);
  const args = libvirtdArgs(confPath);

  if (await socketAnswers(LIBVIRTD.socket)) {
    const pid = await daemonPid(LIBVIRTD);
    if (pid === undefined) {
      throw new LabError(
        `libvirtd answers on ${LIBVIRTD.socket} but ${LIBVIRTD.pidFile} names no live process`,
        {
          hint: `find it with 'ps -C libvirtd -o pid,cmd', stop it, and run 'kvmon lab up' again`,
        },
      );
    }
    const ours = startedWithLabConfig(await cmdline(pid), confPath);
    if (ours && !changed && (await listenersAnswer())) return;
    const why = !ours
      ? `it runs without the lab's TCP/TLS listeners`
      : changed
        ? "its config or certificates changed"
        : `its listeners on ${LISTEN_ADDR}:${TCP_PORT}/${TLS_PORT} do not answer`;
    progress(`libvirtd: restarting pid ${pid}: ${why} (guests keep running)`);
    await stopPid(LIBVIRTD, pid, progress, timeoutMs);
  }
  const system = await readFile("/etc/libvirt/libvirtd.conf", "utf8").catch(() => "");
  const skipped = activeSettings(system);
  if (skipped.length > 0) {
    progress(
      `libvirtd: note: ${confPath} replaces /etc/libvirt/libvirtd.conf, whose ${skipped.join(", ")} is not applied`,
    );
  }
  await startDaemon(
    LIBVIRTD,
    args,
    progress,
    timeoutMs,
    async () => (await socketAnswers(LIBVIRTD.socket)) && (await listenersAnswer()),
    `${LIBVIRTD.socket} or ${LISTEN_ADDR}:${TCP_PORT}/${TLS_PORT}`,
  );
}

/**
 * Starts virtlogd, then libvirtd, when they are not serving their sockets; (re)starts libvirtd with the
 * lab's loopback TCP/TLS listeners when it runs without them.
 */
export async function ensureDaemons(
  progress: Progress,
  timeoutMs = 20_000,
  labRoot = labPaths().root,
): Promise<void> {
  await ensureDaemon(VIRTLOGD, progress, timeoutMs);
  await ensureLibvirtd(progress, timeoutMs, labRoot);
}

/** SIGTERM to `pid`, then a bounded wait until it has exited. */
async function stopPid(spec: DaemonSpec, pid: number, progress: Progress, timeoutMs: number): Promise<void> {
  progress(`${spec.name}: stopping pid ${pid}`);
  process.kill(pid, "SIGTERM");
  const exited = async (): Promise<boolean> => {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
      if (!isAlive(pid)) return true;
    }
    return false;
  };
  if (!(await waitingFor(progress, `${spec.name} (pid ${pid}) to exit`, exited()))) {
    throw new LabError(`${spec.name} (pid ${pid}) did not exit within ${timeoutMs / 1000} s of SIGTERM`, {
      hint: `look at it with 'ps -p ${pid} -o pid,stat,cmd'; 'kill -9 ${pid}' if it is stuck`,
    });
  }
}

/**
 * Stops libvirtd and virtlogd by the pids in their pid files (only on explicit request: other users of this
 * host may rely on them). Waits, bounded, until each has exited.
 */
export async function stopDaemons(progress: Progress, timeoutMs = 20_000): Promise<void> {
  for (const spec of [LIBVIRTD, VIRTLOGD]) {
    const pid = await daemonPid(spec);
    if (pid !== undefined) await stopPid(spec, pid, progress, timeoutMs);
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

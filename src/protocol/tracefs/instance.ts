/**
 * A private tracefs instance (`instances/kvmon-<pid>-<name>`): its own ring buffers, events, filters and clock,
 * so kvmon never touches the global buffer or another tool's instance. Create it, enable named events filtered
 * to a set of thread ids, read its per-CPU pipes, read its per-CPU stats, close it (the directory is removed).
 * An instance left by a kvmon that died is found by the pid in its name and removed (removeStaleInstances).
 *
 * Reading: `per_cpu/cpuN/trace_pipe_raw` hands out one ring-buffer page per read(2) and consumes it; a readv(2)
 * of many page-sized iovecs takes many pages in one system call. The pipes
 * are opened O_NONBLOCK and read synchronously: an empty pipe answers EAGAIN at once (measured ~11 us here), so
 * a read never parks a thread of the event loop or of libuv's pool; callers poll on a cadence. (A blocking
 * open returned 0 bytes at once on this 6.18 kernel, but older kernels sleep in it until a page fills.)
 */
import { closeSync, constants, openSync, readvSync } from "node:fs";
import { mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TracefsEventMissingError, TracefsIoError, TracefsUnavailableError } from "./errors.ts";
import { type EventFormat, parseEventFormat, parseHeaderEvent, parseHeaderPage } from "./format.ts";
import { TraceDecoder } from "./decoder.ts";

/** Where tracefs is mounted on current kernels, then where older ones put it under debugfs. */
export const TRACEFS_MOUNTS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/** Most iovecs one readv(2) takes (Linux UIO_MAXIOV). */
const IOV_MAX = 1024;

/** Instance names kvmon creates: kvmon-<pid>-<name>. */
const INSTANCE_NAME = /^kvmon-(\d+)-[\w.-]+$/;

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/** Maps a failed tracefs operation to this layer's errors: no permission means "not root". */
function ioError(what: string, path: string, e: unknown): Error {
  const code = errno(e);
  if (code === "EACCES" || code === "EPERM") {
    return new TracefsUnavailableError(`${what} ${path} was refused (${code}): tracing needs root`, {
      hint: "run kvmon as root (CAP_SYS_ADMIN)",
      cause: e,
    });
  }
  return new TracefsIoError(`${what} failed (${code ?? String(e)})`, path, { cause: e });
}

async function write(path: string, value: string): Promise<void> {
  try {
    await writeFile(path, value);
  } catch (e) {
    throw ioError(`writing "${value.slice(0, 80)}" to`, path, e);
  }
}

async function read(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw ioError("reading", path, e);
  }
}

/** The tracefs mount point, or TracefsUnavailableError naming where it looked and how to mount it. */
export async function findTracefs(candidates: readonly string[] = TRACEFS_MOUNTS): Promise<string> {
  for (const root of candidates) {
    try {
      await readdir(join(root, "instances"));
      return root;
    } catch (e) {
      if (errno(e) === "EACCES" || errno(e) === "EPERM") throw ioError("listing", join(root, "instances"), e);
    }
  }
  throw new TracefsUnavailableError(`tracefs is not mounted (looked in ${candidates.join(", ")})`, {
    hint: `mount it: mount -t tracefs none ${candidates[0]}`,
  });
}

/** Counters of one CPU's buffer, from `per_cpu/cpuN/stats`. */
export interface CpuStats {
  entries: number;
  /** Events overwritten before they were read (lost). */
  overrun: number;
  commitOverrun: number;
  bytes: number;
  /** Events dropped because the buffer was full (lost, in no-overwrite mode). */
  droppedEvents: number;
  readEvents: number;
}

export function parseCpuStats(text: string): CpuStats {
  const get = (key: string): number => Number(new RegExp(`^${key}:\\s*(\\d+)`, "m").exec(text)?.[1] ?? 0);
  return {
    entries: get("entries"),
    overrun: get("overrun"),
    commitOverrun: get("commit overrun"),
    bytes: get("bytes"),
    droppedEvents: get("dropped events"),
    readEvents: get("read events"),
  };
}

/** `common_pid == 1 || common_pid == 2`; "0" (no filter) for no pids. */
export function pidFilter(pids: readonly number[]): string {
  if (pids.some((p) => !Number.isSafeInteger(p) || p <= 0))
    throw new RangeError(`bad thread ids: ${pids.join()}`);
  return pids.length === 0 ? "0" : pids.map((p) => `common_pid == ${p}`).join(" || ");
}

/** One CPU's raw pipe, opened non-blocking. */
export class CpuPipe {
  readonly cpu: number;
  readonly #fd: number;
  readonly #pageSize: number;
  #iov: { buffer: Uint8Array; slots: Uint8Array[] } | undefined;
  #closed = false;

  constructor(path: string, cpu: number, pageSize: number) {
    this.cpu = cpu;
    this.#pageSize = pageSize;
    try {
      this.#fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      throw ioError("opening", path, e);
    }
  }

  /**
   * Reads whole pages into `into` until the pipe is empty or `into` is full (at most into.length / pageSize
   * pages: a bounded amount per call). Returns the bytes read, a multiple of the page size. One readv(2) per
   * call: trace_pipe_raw hands out one page per read, and the kernel runs a readv of a file without read_iter as
   * one read per iovec in a single system call, stopping at the first short or failed one (EAGAIN: empty).
   */
  read(into: Uint8Array): number {
    if (this.#closed) return 0;
    let n: number;
    try {
      n = readvSync(this.#fd, this.#slots(into));
    } catch (e) {
      if (errno(e) === "EAGAIN") return 0;
      throw ioError(`reading cpu${this.cpu} pipe`, "trace_pipe_raw", e);
    }
    const short = n % this.#pageSize;
    // A page comes whole (the kernel zeroes its unused tail); should a read ever return less, the rest of
    // this page's slot must not hold bytes of an earlier read.
    if (short !== 0) into.fill(0, n, n - short + this.#pageSize);
    return short === 0 ? n : n - short + this.#pageSize;
  }

  /** `into` cut into page-sized iovecs (kept for the next call with the same buffer). */
  #slots(into: Uint8Array): Uint8Array[] {
    if (this.#iov?.buffer !== into) {
      const pages = Math.min(Math.floor(into.byteLength / this.#pageSize), IOV_MAX);
      this.#iov = {
        buffer: into,
        slots: Array.from({ length: pages }, (_, i) =>
          into.subarray(i * this.#pageSize, (i + 1) * this.#pageSize),
        ),
      };
    }
    return this.#iov.slots;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }
}

export interface InstanceOptions {
  /** tracefs mount point; found with findTracefs when absent. */
  root?: string;
  /** The pid the instance is named after (default: this process). */
  pid?: number;
}

/** A private trace instance. Call close() when done: it disables the events and removes the directory. */
export class TraceInstance {
  readonly root: string;
  /** The instance's directory name, e.g. kvmon-4242-kvm. */
  readonly name: string;
  readonly path: string;
  readonly #enabled: { event: string; format: EventFormat }[] = [];
  readonly #pipes: CpuPipe[] = [];
  #closed = false;

  private constructor(root: string, name: string) {
    this.root = root;
    this.name = name;
    this.path = join(root, "instances", name);
  }

  /** Creates instances/kvmon-<pid>-<name>; fails if it exists (another tracer of this process owns it). */
  static async create(name: string, options: InstanceOptions = {}): Promise<TraceInstance> {
    if (!/^[\w.-]+$/.test(name)) throw new RangeError(`instance name "${name}": letters, digits, _ . - only`);
    const root = options.root ?? (await findTracefs());
    const instance = new TraceInstance(root, `kvmon-${options.pid ?? process.pid}-${name}`);
    try {
      await mkdir(instance.path);
    } catch (e) {
      throw ioError("creating instance", instance.path, e);
    }
    return instance;
  }

  /** The format of `system:event` (e.g. "kvm:kvm_pio"), or TracefsEventMissingError. */
  async eventFormat(event: string): Promise<EventFormat> {
    const [system, name] = event.split(":");
    if (!system || !name) throw new RangeError(`event "${event}": expected system:name`);
    let text: string;
    try {
      text = await readFile(join(this.path, "events", system, name, "format"), "utf8");
    } catch (e) {
      if (errno(e) === "ENOENT") throw new TracefsEventMissingError([event]);
      throw ioError("reading format of", event, e);
    }
    return parseEventFormat(text);
  }

  /** Which of `events` this kernel has. */
  async available(events: readonly string[]): Promise<{ present: EventFormat[]; missing: string[] }> {
    const present: EventFormat[] = [];
    const missing: string[] = [];
    for (const event of events) {
      try {
        present.push(await this.eventFormat(event));
      } catch (e) {
        if (!(e instanceof TracefsEventMissingError)) throw e;
        missing.push(event);
      }
    }
    return { present, missing };
  }

  /**
   * Enables `events` (system:name), each filtered to the thread ids `pids` (all threads when empty). All or
   * none: when any is missing, TracefsEventMissingError names every missing one and nothing is enabled.
   */
  async enableEvents(events: readonly string[], pids: readonly number[]): Promise<EventFormat[]> {
    const { present, missing } = await this.available(events);
    if (missing.length > 0) throw new TracefsEventMissingError(missing);
    const filter = pidFilter(pids);
    for (const [i, format] of present.entries()) {
      const dir = this.#eventDir(events[i]!);
      await write(join(dir, "filter"), filter);
      await write(join(dir, "enable"), "1");
      this.#enabled.push({ event: events[i]!, format });
    }
    return present;
  }

  /** Re-targets every enabled event to new thread ids (vCPU hot-plug, domain restart). */
  async setPids(pids: readonly number[]): Promise<void> {
    const filter = pidFilter(pids);
    for (const { event } of this.#enabled) await write(join(this.#eventDir(event), "filter"), filter);
  }

  /** The formats of the events enabled so far. */
  get enabled(): EventFormat[] {
    return this.#enabled.map((e) => e.format);
  }

  /** Per-CPU buffer size in KiB. */
  async setBufferSizeKb(kb: number): Promise<void> {
    if (!Number.isSafeInteger(kb) || kb <= 0) throw new RangeError(`buffer size ${kb} KiB`);
    await write(join(this.path, "buffer_size_kb"), String(kb));
  }

  /** The trace clock ("mono" gives CLOCK_MONOTONIC ns, the clock of process.hrtime). */
  async setClock(clock: string): Promise<void> {
    await write(join(this.path, "trace_clock"), clock);
  }

  /** The CPUs that have a buffer (per_cpu/cpuN), ascending. */
  async cpus(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(join(this.path, "per_cpu"));
    } catch (e) {
      throw ioError("listing", join(this.path, "per_cpu"), e);
    }
    return names
      .map((n) => /^cpu(\d+)$/.exec(n)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** A decoder for this kernel's pages, the enabled events and `extra` formats (e.g. ftrace:print markers). */
  async decoder(extra: readonly EventFormat[] = []): Promise<TraceDecoder> {
    const events = join(this.root, "events");
    const layout = parseHeaderPage(await read(join(events, "header_page")));
    const header = parseHeaderEvent(await read(join(events, "header_event")));
    return new TraceDecoder(layout, header, [...this.enabled, ...extra]);
  }

  /** Opens every CPU's trace_pipe_raw, non-blocking. The pipes are closed by close(). */
  async openPipes(pageSize: number): Promise<CpuPipe[]> {
    for (const cpu of await this.cpus()) {
      this.#pipes.push(new CpuPipe(join(this.path, "per_cpu", `cpu${cpu}`, "trace_pipe_raw"), cpu, pageSize));
    }
    return [...this.#pipes];
  }

  async stats(cpu: number): Promise<CpuStats> {
    return parseCpuStats(await read(join(this.path, "per_cpu", `cpu${cpu}`, "stats")));
  }

  /** Closes the pipes and removes the instance (its events and buffers go with it). Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pipes) p.close();
    try {
      await rmdir(this.path);
    } catch (e) {
      if (errno(e) !== "ENOENT") throw ioError("removing instance", this.path, e);
    }
  }

  #eventDir(event: string): string {
    const [system, name] = event.split(":") as [string, string];
    return join(this.path, "events", system, name);
  }
}

/** Whether a process of that pid exists (EPERM: it exists, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === "EPERM";
  }
}

/**
 * Removes the instances kvmon processes that no longer run left behind; returns their names. A dead kvmon's pid
 * reused by a live process keeps its instance until that process ends: removing too little beats removing a
 * live tracer's buffer.
 */
export async function removeStaleInstances(root?: string): Promise<string[]> {
  const base = join(root ?? (await findTracefs()), "instances");
  const removed: string[] = [];
  for (const name of await readdir(base)) {
    const pid = INSTANCE_NAME.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || alive(Number(pid))) continue;
    try {
      await rmdir(join(base, name));
      removed.push(name);
    } catch (e) {
      if (errno(e) !== "ENOENT") throw ioError("removing stale instance", join(base, name), e);
    }
  }
  return removed;
}

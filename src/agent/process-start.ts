/**
 * Start time of a domain's QEMU process, for uptime: libvirt's bulk stats carry none. Read from the pid file
 * libvirt's QEMU driver writes (<runDir>/<name>.pid) and /proc/<pid>/stat (field 22, start time in clock ticks
 * after boot) plus /proc/stat's btime. Only meaningful when the agent runs on the libvirt host (local URI) with
 * access to those files; otherwise uptime is reported as unknown. Cached per (uuid, id): a QEMU process's
 * start time never changes, and a new id means a new process.
 */
import { ProcessStartError } from "./errors.ts";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux architecture libvirt/KVM runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcessStartOptions {
  procRoot: string;
  runDir: string;
  /** Told why a start time could not be read (the agent logs it once, at debug level: uptime is optional). */
  onError?: (domain: string, uuid: string, error: unknown) => void;
}

export class ProcessStartTimes {
  private readonly opts: ProcessStartOptions;
  private readonly cache = new Map<string, number | null>();
  private bootTimeMs: number | undefined;

  constructor(opts: ProcessStartOptions) {
    this.opts = opts;
  }

  /** Epoch ms when the domain's QEMU process started, undefined if unreadable (remote host, permissions). */
  async get(name: string, uuid: string, id: number): Promise<number | undefined> {
    if (id < 0) return undefined;
    const key = `${uuid}/${id}`;
    if (!this.cache.has(key)) {
      for (const k of this.cache.keys()) if (k.startsWith(`${uuid}/`)) this.cache.delete(k);
      this.cache.set(
        key,
        await this.read(name).catch((e: unknown) => {
          this.opts.onError?.(name, uuid, e);
          return null;
        }),
      );
    }
    return this.cache.get(key) ?? undefined;
  }

  /** Forgets domains that no longer exist. */
  retain(uuids: ReadonlySet<string>): void {
    for (const k of this.cache.keys()) if (!uuids.has(k.slice(0, k.indexOf("/")))) this.cache.delete(k);
  }

  private async read(name: string): Promise<number> {
    const pid = (await readFile(join(this.opts.runDir, `${name}.pid`), "utf8")).trim();
    if (!/^\d+$/.test(pid)) throw new ProcessStartError(`bad pid file for ${name}`);
    const stat = await readFile(join(this.opts.procRoot, pid, "stat"), "utf8");
    // The comm field (2) may contain spaces and parentheses: split after the LAST ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]); // field 22 overall = index 19 after pid and comm
    if (!Number.isFinite(ticks)) throw new ProcessStartError(`bad /proc/${pid}/stat`);
    return (await this.bootTime()) + (ticks / CLOCK_TICKS_PER_SECOND) * 1000;
  }

  private async bootTime(): Promise<number> {
    if (this.bootTimeMs === undefined) {
      const m = /^btime (\d+)$/m.exec(await readFile(join(this.opts.procRoot, "stat"), "utf8"));
      if (!m) throw new ProcessStartError("no btime in /proc/stat");
      this.bootTimeMs = Number(m[1]) * 1000;
    }
    return this.bootTimeMs;
  }
}

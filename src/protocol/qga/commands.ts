/**
 * The guest-agent commands kvmon uses, declared as data: the command name, its arguments (as a type) and a
 * zod schema of its return value (qga/qapi-schema.json, qemu 7.2; guest-get-load is 10.0). Every reply is
 * validated before use: guests are untrusted, so a reply of the wrong shape, or larger than the caps below,
 * is a QgaProtocolError, never a value. Unknown members are stripped.
 *
 * Numbers: QAPI `int`/`uint64` counters and times are bigint here (guest-get-time is ~1.8e18 ns, above 2^53;
 * the JSON reader keeps such integers exact); small numbers (pids, exit codes, prefixes, ids) are number.
 */
import { z } from "zod";

export interface QgaCommand<A, R> {
  readonly name: string;
  readonly returns: z.ZodType<R>;
  /** Type only (never set): the command's arguments. */
  readonly argsType?: A;
}

/** Arguments of a command without any. */
export type NoArgs = undefined;

function command<A = NoArgs, R = unknown>(name: string, returns: z.ZodType<R>): QgaCommand<A, R> {
  return { name, returns };
}

/** Caps on untrusted replies (issue 11): list lengths and string lengths per reply. */
export const QgaLimits = {
  /** Filesystems, interfaces, users, vCPUs, disks, CPUs in one reply. */
  maxItems: 4096,
  /** Addresses per interface, disks per filesystem, commands in guest-info. */
  maxSubItems: 1024,
  /** Any name, path, version or description. */
  maxString: 4096,
} as const;

const str = z.string().max(QgaLimits.maxString);
const int = z.number().int();
/** A QAPI int/uint64: number or (beyond 2^53) bigint on the wire, always bigint here. */
const int64 = z.union([z.number().int(), z.bigint()]).transform((v) => BigInt(v));
const list = <T extends z.ZodType>(item: T, max: number = QgaLimits.maxItems) => z.array(item).max(max);
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "not base64");

const execStatus = z.object({
  exited: z.boolean(),
  exitcode: int.optional(),
  signal: int.optional(),
  "out-data": base64.optional(),
  "err-data": base64.optional(),
  "out-truncated": z.boolean().optional(),
  "err-truncated": z.boolean().optional(),
});

const fsDisk = z.object({
  "bus-type": str,
  bus: int,
  target: int,
  unit: int,
  dev: str.optional(),
  serial: str.optional(),
  "pci-controller": z.object({ domain: int, bus: int, slot: int, function: int }).optional(),
});

const interfaceStats = z.object({
  "rx-bytes": int64,
  "rx-packets": int64,
  "rx-errs": int64,
  "rx-dropped": int64,
  "tx-bytes": int64,
  "tx-packets": int64,
  "tx-errs": int64,
  "tx-dropped": int64,
});

const diskStats = z.object(
  Object.fromEntries(
    [
      "read-sectors",
      "read-ios",
      "read-merges",
      "write-sectors",
      "write-ios",
      "write-merges",
      "discard-sectors",
      "discard-ios",
      "discard-merges",
      "flush-ios",
      "read-ticks",
      "write-ticks",
      "discard-ticks",
      "flush-ticks",
      "ios-pgr",
      "total-ticks",
      "weight-ticks",
    ].map((k) => [k, int64.optional()]),
  ) as Record<string, z.ZodOptional<typeof int64>>,
);

export const QgaCommands = {
  ping: command("guest-ping", z.object({})),
  info: command(
    "guest-info",
    z.object({
      version: str,
      supported_commands: list(
        z.object({ name: str, enabled: z.boolean(), "success-response": z.boolean() }),
        QgaLimits.maxSubItems,
      ),
    }),
  ),
  /** Resynchronisation; the socket transport sends it itself (0xFF first). */
  syncDelimited: command<{ id: number }, number>("guest-sync-delimited", int),
  exec: command<
    { path: string; arg?: string[]; env?: string[]; "input-data"?: string; "capture-output"?: boolean },
    { pid: number }
  >("guest-exec", z.object({ pid: int })),
  execStatus: command<{ pid: number }, z.infer<typeof execStatus>>("guest-exec-status", execStatus),
  osInfo: command(
    "guest-get-osinfo",
    z.object(
      Object.fromEntries(
        [
          "kernel-release",
          "kernel-version",
          "machine",
          "id",
          "name",
          "pretty-name",
          "version",
          "version-id",
          "variant",
          "variant-id",
        ].map((k) => [k, str.optional()]),
      ) as Record<string, z.ZodOptional<typeof str>>,
    ),
  ),
  fsInfo: command(
    "guest-get-fsinfo",
    list(
      z.object({
        name: str,
        mountpoint: str,
        type: str,
        "used-bytes": int64.optional(),
        "total-bytes": int64.optional(),
        disk: list(fsDisk, QgaLimits.maxSubItems),
      }),
    ),
  ),
  networkInterfaces: command(
    "guest-network-get-interfaces",
    list(
      z.object({
        name: str,
        "hardware-address": str.optional(),
        "ip-addresses": list(
          z.object({ "ip-address-type": z.enum(["ipv4", "ipv6"]), "ip-address": str, prefix: int }),
          QgaLimits.maxSubItems,
        ).optional(),
        statistics: interfaceStats.optional(),
      }),
    ),
  ),
  users: command(
    "guest-get-users",
    list(z.object({ user: str, "login-time": z.number(), domain: str.optional() })),
  ),
  /** Nanoseconds since the epoch. */
  time: command("guest-get-time", int64),
  timezone: command("guest-get-timezone", z.object({ zone: str.optional(), offset: int })),
  hostName: command("guest-get-host-name", z.object({ "host-name": str })),
  vcpus: command(
    "guest-get-vcpus",
    list(z.object({ "logical-id": int, online: z.boolean(), "can-offline": z.boolean().optional() })),
  ),
  /** Linux only (7.1); values in USER_HZ ticks, as in /proc/stat. */
  cpuStats: command(
    "guest-get-cpustats",
    list(
      z.object({
        type: z.literal("linux"),
        cpu: int,
        user: int64,
        nice: int64,
        system: int64,
        idle: int64,
        iowait: int64.optional(),
        irq: int64.optional(),
        softirq: int64.optional(),
        steal: int64.optional(),
        guest: int64.optional(),
        guestnice: int64.optional(),
      }),
    ),
  ),
  /** Linux only (7.1); sectors, I/O counts and ticks (ms) as in /proc/diskstats. */
  diskStats: command(
    "guest-get-diskstats",
    list(z.object({ name: str, major: int, minor: int, stats: diskStats })),
  ),
  /** qemu-ga 10.0 and later. */
  load: command("guest-get-load", z.object({ load1: z.number(), load5: z.number(), load15: z.number() })),
  fileOpen: command<{ path: string; mode?: string }, number>("guest-file-open", int),
  fileRead: command<{ handle: number; count?: number }, { count: number; "buf-b64": string; eof: boolean }>(
    "guest-file-read",
    z.object({ count: int, "buf-b64": base64, eof: z.boolean() }),
  ),
  fileClose: command<{ handle: number }, object>("guest-file-close", z.object({})),
} as const;

export type ExecStatus = z.infer<typeof execStatus>;
export type ReturnOf<C> = C extends QgaCommand<unknown, infer R> ? R : never;

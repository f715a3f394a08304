/** The guest section of the model as a zod schema (see schema.ts); typed against types.ts so they cannot drift. */
import { z } from "zod";
import type { CounterValue, GuestSample } from "./types.ts";

const num = z.number();
const nullableNum = num.nullable();
const str = z.string();
const nullableStr = str.nullable();

export function guestSampleSchema(counter: z.ZodType<CounterValue>): z.ZodType<GuestSample> {
  const nullableCounter = counter.nullable();
  const share = z.number().min(0).max(1).nullable();
  return z.object({
    sampledAt: num,
    agent: z.object({
      status: z.enum(["connected", "unresponsive", "absent"]),
      version: nullableStr,
      supportedCommands: num,
      lastError: nullableStr,
      lastSeenAt: nullableNum,
    }),
    identity: z
      .object({
        osId: nullableStr,
        osName: nullableStr,
        osPrettyName: nullableStr,
        osVersionId: nullableStr,
        kernelRelease: nullableStr,
        kernelVersion: nullableStr,
        machine: nullableStr,
        hostname: nullableStr,
        timezone: nullableStr,
        timezoneOffsetSeconds: nullableNum,
      })
      .nullable(),
    users: z.array(z.object({ name: str, domain: nullableStr, loginTime: num })).nullable(),
    cpu: z
      .object({
        user: share,
        nice: share,
        system: share,
        idle: share,
        iowait: share,
        irq: share,
        softirq: share,
        steal: share,
        source: z.enum(["cpustats", "proc-stat"]),
      })
      .nullable(),
    load: z
      .object({ load1: num, load5: num, load15: num, source: z.enum(["get-load", "proc-loadavg"]) })
      .nullable(),
    memory: z
      .object({
        totalBytes: num,
        availableBytes: nullableNum,
        freeBytes: nullableNum,
        cachedBytes: nullableNum,
        buffersBytes: nullableNum,
        swapTotalBytes: nullableNum,
        swapFreeBytes: nullableNum,
      })
      .nullable(),
    vcpus: z.object({ online: num, total: num }).nullable(),
    clock: z.object({ driftSeconds: num }).nullable(),
    filesystems: z
      .array(
        z.object({
          mountpoint: str,
          device: str,
          type: str,
          usedBytes: nullableNum,
          totalBytes: nullableNum,
          disks: z.array(str),
        }),
      )
      .nullable(),
    disks: z
      .array(
        z.object({
          name: str,
          readBytes: nullableCounter,
          writeBytes: nullableCounter,
          readOps: nullableCounter,
          writeOps: nullableCounter,
        }),
      )
      .nullable(),
    interfaces: z
      .array(
        z.object({
          name: str,
          mac: nullableStr,
          addresses: z.array(z.object({ type: z.enum(["ipv4", "ipv6"]), address: str, prefix: num })),
          rxBytes: nullableCounter,
          txBytes: nullableCounter,
          rxPackets: nullableCounter,
          txPackets: nullableCounter,
          rxErrors: nullableCounter,
          txErrors: nullableCounter,
          rxDropped: nullableCounter,
          txDropped: nullableCounter,
        }),
      )
      .nullable(),
    custom: z.array(z.object({ metric: str, label: nullableStr, value: num })).nullable(),
    truncated: z.array(str),
  });
}

/**
 * Per-disk I/O (bulk stats group BLOCK): bytes, requests and time for read/write/flush as counters with rates,
 * average latency over the window (Δtime / Δrequests), and capacity/allocation/physical size. Disks are keyed
 * by target name (vda), so a hot-unplugged and re-plugged disk is matched by name and its reset counters are
 * handled like any other reset.
 */
import { averagePerEvent, counterValue } from "../model/rate.ts";
import type { BlockSample, CounterValue } from "../model/types.ts";
import { DomainStatsGroup } from "../protocol/libvirt/types.ts";
import { counter, emitPresent, gauge } from "../metrics/catalog.ts";
import type { DomainCollector } from "./types.ts";

const device = { labels: ["device"] } as const;

const m = {
  readBytes: counter("kvmon_domain_block_read_bytes_total", "Bytes read from the disk.", {
    ...device,
    source: "block.N.rd.bytes",
  }),
  writeBytes: counter("kvmon_domain_block_write_bytes_total", "Bytes written to the disk.", {
    ...device,
    source: "block.N.wr.bytes",
  }),
  readReqs: counter("kvmon_domain_block_read_requests_total", "Read requests completed.", {
    ...device,
    source: "block.N.rd.reqs",
  }),
  writeReqs: counter("kvmon_domain_block_write_requests_total", "Write requests completed.", {
    ...device,
    source: "block.N.wr.reqs",
  }),
  flushReqs: counter("kvmon_domain_block_flush_requests_total", "Flush requests completed.", {
    ...device,
    source: "block.N.fl.reqs",
  }),
  readTime: counter(
    "kvmon_domain_block_read_time_seconds_total",
    "Total time spent on reads; rate(time)/rate(requests) is the average read latency.",
    { ...device, source: "block.N.rd.times (ns)" },
  ),
  writeTime: counter("kvmon_domain_block_write_time_seconds_total", "Total time spent on writes.", {
    ...device,
    source: "block.N.wr.times (ns)",
  }),
  flushTime: counter("kvmon_domain_block_flush_time_seconds_total", "Total time spent on flushes.", {
    ...device,
    source: "block.N.fl.times (ns)",
  }),
  capacity: gauge("kvmon_domain_block_capacity_bytes", "Logical size of the disk as the guest sees it.", {
    ...device,
    source: "block.N.capacity",
  }),
  allocation: gauge(
    "kvmon_domain_block_allocation_bytes",
    "Highest offset written in the image (host storage in use by a sparse or qcow2 image).",
    { ...device, source: "block.N.allocation" },
  ),
  physical: gauge(
    "kvmon_domain_block_physical_bytes",
    "Size of the image file or block device on the host.",
    { ...device, source: "block.N.physical" },
  ),
};

type CounterKey =
  | "readBytes"
  | "writeBytes"
  | "readRequests"
  | "writeRequests"
  | "flushRequests"
  | "readTimeSeconds"
  | "writeTimeSeconds"
  | "flushTimeSeconds";

const FIELDS: ReadonlyArray<[CounterKey, string, boolean]> = [
  ["readBytes", "rd.bytes", false],
  ["writeBytes", "wr.bytes", false],
  ["readRequests", "rd.reqs", false],
  ["writeRequests", "wr.reqs", false],
  ["flushRequests", "fl.reqs", false],
  ["readTimeSeconds", "rd.times", true],
  ["writeTimeSeconds", "wr.times", true],
  ["flushTimeSeconds", "fl.times", true],
];

export const blockCollector: DomainCollector = {
  kind: "domain",
  name: "block",
  description:
    "per disk: read/write/flush bytes, requests, time, average latency, capacity/allocation/physical",
  defaultEnabled: true,
  statsGroups: DomainStatsGroup.BLOCK,
  metrics: Object.values(m),
  collect(input, out) {
    const { stats, elapsedSeconds: dt, restarted } = input;
    if (!input.active) {
      out.block = null;
      return;
    }
    const disks: BlockSample[] = [];
    for (let i = 0; i < stats.count("block"); i++) {
      const p = `block.${i}.`;
      const name = stats.str(`${p}name`);
      if (name === undefined) continue;
      const prev = input.previous?.block?.find((d) => d.name === name);
      const counters = {} as Record<CounterKey, CounterValue | null>;
      for (const [key, field, isTime] of FIELDS) {
        const v = isTime ? stats.seconds(p + field) : stats.num(p + field);
        counters[key] = v === undefined ? null : counterValue(v, prev?.[key], dt, restarted);
      }
      disks.push({
        name,
        path: stats.str(`${p}path`) ?? null,
        ...counters,
        readLatencySeconds: averagePerEvent(counters.readTimeSeconds, counters.readRequests),
        writeLatencySeconds: averagePerEvent(counters.writeTimeSeconds, counters.writeRequests),
        flushLatencySeconds: averagePerEvent(counters.flushTimeSeconds, counters.flushRequests),
        capacityBytes: stats.num(`${p}capacity`) ?? null,
        allocationBytes: stats.num(`${p}allocation`) ?? null,
        physicalBytes: stats.num(`${p}physical`) ?? null,
      });
    }
    out.block = disks;
  },
  expose(sample, emit) {
    const opt = emitPresent(emit);
    for (const d of sample.block ?? []) {
      const l = [d.name];
      opt(m.readBytes, d.readBytes, l);
      opt(m.writeBytes, d.writeBytes, l);
      opt(m.readReqs, d.readRequests, l);
      opt(m.writeReqs, d.writeRequests, l);
      opt(m.flushReqs, d.flushRequests, l);
      opt(m.readTime, d.readTimeSeconds, l);
      opt(m.writeTime, d.writeTimeSeconds, l);
      opt(m.flushTime, d.flushTimeSeconds, l);
      opt(m.capacity, d.capacityBytes, l);
      opt(m.allocation, d.allocationBytes, l);
      opt(m.physical, d.physicalBytes, l);
    }
  },
};

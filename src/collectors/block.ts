/**
 * Per-disk I/O (bulk stats group BLOCK): bytes, requests and time for read/write/flush as counters with rates,
 * average latency over the window (Δtime / Δrequests), and capacity/allocation/physical size. Disks are keyed
 * by target name (vda), so a hot-unplugged and re-plugged disk is matched by name and its reset counters are
 * handled like any other reset.
 */
import { averagePerEvent, counter } from "../model/rate.ts";
import type { BlockSample, CounterValue } from "../model/types.ts";
import { DomainStatsGroup } from "../protocol/libvirt/types.ts";
import { type DomainCollector, emitPresent, type MetricSpec } from "./types.ts";

const spec = (name: string, type: "gauge" | "counter", help: string, source: string): MetricSpec => ({
  name,
  type,
  help,
  labels: ["device"],
  source,
});

const m = {
  readBytes: spec(
    "kvmon_domain_block_read_bytes_total",
    "counter",
    "Bytes read from the disk.",
    "block.N.rd.bytes",
  ),
  writeBytes: spec(
    "kvmon_domain_block_write_bytes_total",
    "counter",
    "Bytes written to the disk.",
    "block.N.wr.bytes",
  ),
  readReqs: spec(
    "kvmon_domain_block_read_requests_total",
    "counter",
    "Read requests completed.",
    "block.N.rd.reqs",
  ),
  writeReqs: spec(
    "kvmon_domain_block_write_requests_total",
    "counter",
    "Write requests completed.",
    "block.N.wr.reqs",
  ),
  flushReqs: spec(
    "kvmon_domain_block_flush_requests_total",
    "counter",
    "Flush requests completed.",
    "block.N.fl.reqs",
  ),
  readTime: spec(
    "kvmon_domain_block_read_time_seconds_total",
    "counter",
    "Total time spent on reads; rate(time)/rate(requests) is the average read latency.",
    "block.N.rd.times (ns)",
  ),
  writeTime: spec(
    "kvmon_domain_block_write_time_seconds_total",
    "counter",
    "Total time spent on writes.",
    "block.N.wr.times (ns)",
  ),
  flushTime: spec(
    "kvmon_domain_block_flush_time_seconds_total",
    "counter",
    "Total time spent on flushes.",
    "block.N.fl.times (ns)",
  ),
  capacity: spec(
    "kvmon_domain_block_capacity_bytes",
    "gauge",
    "Logical size of the disk as the guest sees it.",
    "block.N.capacity",
  ),
  allocation: spec(
    "kvmon_domain_block_allocation_bytes",
    "gauge",
    "Highest offset written in the image (host storage in use by a sparse or qcow2 image).",
    "block.N.allocation",
  ),
  physical: spec(
    "kvmon_domain_block_physical_bytes",
    "gauge",
    "Size of the image file or block device on the host.",
    "block.N.physical",
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
        counters[key] = v === undefined ? null : counter(v, prev?.[key], dt, restarted);
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

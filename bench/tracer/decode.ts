/**
 * The tracefs decoder alone, on the ring-buffer pages captured on the lab's KVM guest
 * (src/protocol/tracefs/testdata/kvm.pages): events decoded per second of CPU (this process's user + system
 * time), for the page walk alone (headers and timestamps, no record decoded), the tracer's counting path
 * (src/tracer/page-counter.ts: the counts, series and ring notes a tracing run keeps) and full decoding (every
 * field of every record into an event object). Prints a markdown table.
 * Run: node --disable-warning=ExperimentalWarning bench/tracer/decode.ts [--seconds 2]
 */
import { parseArgs } from "node:util";
import { TraceDecoder } from "../../src/protocol/tracefs/index.ts";
import { DomainTrace, PageCounter } from "../../src/tracer/index.ts";
import {
  allFormats,
  fixtureBytes,
  header,
  layout,
  manifest,
} from "../../src/protocol/tracefs/testing/fixtures.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "2" } } });
const seconds = Number(values.seconds);
const capture = manifest().steady;
const pages = fixtureBytes(capture.file);
const decoder = new TraceDecoder(layout, header, allFormats());

/** Runs `pass` (one pass over all pages, returning the events it saw) until `seconds` of CPU have gone. */
function measure(pass: () => number): { events: number; cpu: number } {
  for (let i = 0; i < 50; i++) pass(); // warm-up: let the JIT settle
  const start = process.cpuUsage();
  let events = 0;
  let cpu = 0;
  while (cpu < seconds) {
    events += pass();
    const used = process.cpuUsage(start);
    cpu = (used.user + used.system) / 1e6;
  }
  return { events, cpu };
}

/** The newest record time seen: keeps the walk's timestamp arithmetic from being optimised away. */
let newest = 0;
const walk = (): number => {
  let n = 0;
  for (let at = 0; at < pages.length; at += capture.pageSize) {
    n += decoder.walk(pages.subarray(at, at + capture.pageSize), (_view, _offset, _length, since) => {
      if (since > newest) newest = since;
    }).records;
  }
  return n;
};

// The capture's one vCPU thread, traced as vCPU 0 of a domain with the agent's default ring.
let pid = 0;
decoder.decodePage(pages.subarray(0, capture.pageSize), 0, (e) => (pid = e.pid));
const counter = new PageCounter(decoder, allFormats(), 0);
counter.setThreads(new Map([[pid, { trace: new DomainTrace("bench", 0, 1, 1024), vcpu: 0 }]]));
const counting = (): number => counter.count(pages, pages.length).records;

const full = (): number => {
  let n = 0;
  decoder.decodePages(pages, 0, () => n++);
  return n;
};

const rows = [
  ["page walk (headers, timestamps)", measure(walk)],
  ["counting path (counts, series, ring notes)", measure(counting)],
  ["full decode (every field, event objects)", measure(full)],
] as const;
const perPass = walk();
process.stdout.write(
  `Decoder on ${pages.length / capture.pageSize} captured pages (${perPass} records, kernel ${manifest().kernel}), ` +
    `${seconds} s of CPU each, node ${process.version}\n\n` +
    "| mode | events | CPU s | events / s of CPU | MB / s of CPU |\n|---|---:|---:|---:|---:|\n",
);
for (const [mode, r] of rows) {
  const rate = r.events / r.cpu;
  const mb = ((r.events / perPass) * pages.length) / r.cpu / 1e6;
  process.stdout.write(
    `| ${mode} | ${r.events} | ${r.cpu.toFixed(2)} | ${Math.round(rate).toLocaleString("en")} | ${mb.toFixed(1)} |\n`,
  );
}

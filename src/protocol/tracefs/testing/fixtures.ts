/** The fixtures recorded on a lab machine by bench/tracer/record-fixtures.ts (see testdata/manifest.json). */
import { readFileSync } from "node:fs";
import { type EventFormat, parseEventFormat, parseHeaderEvent, parseHeaderPage } from "../format.ts";

const dir = new URL("../testdata/", import.meta.url);

export const fixtureText = (name: string): string => readFileSync(new URL(name, dir), "utf8");
export const fixtureBytes = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, dir)));

export const layout = parseHeaderPage(fixtureText("header_page"));
export const header = parseHeaderEvent(fixtureText("header_event"));

/** An event's format from testdata/<name>.format. */
export const format = (name: string): EventFormat => parseEventFormat(fixtureText(`${name}.format`));

/** The events whose formats testdata keeps (kvm events as `kvm/<name>`, the trace_marker event as print). */
export const FIXTURE_EVENTS = [
  "kvm_exit",
  "kvm_entry",
  "kvm_pio",
  "kvm_mmio",
  "kvm_msr",
  "kvm_emulate_insn",
  "kvm_userspace_exit",
  "kvm_fpu",
  "kvm_set_irq",
];

/** Every event format kept in testdata. */
export const allFormats = (): EventFormat[] => [...FIXTURE_EVENTS, "print"].map(format);

export interface Capture {
  file: string;
  pageSize: number;
  cpus: number[];
}

export interface Manifest {
  kernel: string;
  recorded: string;
  steady: Capture;
  lost: Capture;
  markers: Capture;
}

export const manifest = (): Manifest => JSON.parse(fixtureText("manifest.json")) as Manifest;

/**
 * Re-records the tracefs fixtures in src/protocol/tracefs/testdata from this machine (root, tracefs mounted,
 * the lab up): the format files of the kvm events and of the page and event headers, and raw ring-buffer
 * pages from three short captures on the KVM boot-sector guest's vCPU thread:
 * - kvm.pages: a steady capture of the boot loop (after SeaBIOS) (kvm_emulate_insn, kvm_pio, kvm_userspace_exit, ... whatever fires here),
 *   read as it comes, so pages hold many records and some are partial;
 * - lost.pages: a 16 KiB buffer left unread while the guest runs, so the first page read says events were lost;
 * - markers.pages: trace_marker writes 200 ms apart, so records need time-extend records (gaps > 2^27 ns).
 * Each .pages file is whole pages back to back; manifest.json names each page's CPU and the kernel.
 * Run: node --disable-warning=ExperimentalWarning bench/tracer/record-fixtures.ts
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { release } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { labContext } from "../../src/lab/context.ts";
import { withKvmLease } from "../../src/lab/lab.ts";
import { progressReporter } from "../../src/lab/progress.ts";
import { findTracefs, TraceInstance } from "../../src/protocol/tracefs/index.ts";
import { FIXTURE_EVENTS } from "../../src/protocol/tracefs/testing/fixtures.ts";
import { qemuPid, untilBootLoop, vcpuThreads } from "../../test/tracer-helpers.ts";

const OUT = new URL("../../src/protocol/tracefs/testdata/", import.meta.url).pathname;

/** What the steady capture enables (kvm_exit and kvm_entry never fire under kvm_pvm; they cost nothing). */
const CAPTURE = [
  "kvm:kvm_emulate_insn",
  "kvm:kvm_pio",
  "kvm:kvm_userspace_exit",
  "kvm:kvm_fpu",
  "kvm:kvm_exit",
];

interface Capture {
  file: string;
  pageSize: number;
  /** The CPU each page was read from, in file order. */
  cpus: number[];
}

/** Reads every CPU's pipe until `done()`, polling every `everyMs`; keeps at most `maxPages` pages. */
async function drain(instance: TraceInstance, maxPages: number, everyMs: number, done: () => boolean) {
  const decoder = await instance.decoder([await instance.eventFormat("ftrace:print")]);
  const pipes = await instance.openPipes(decoder.pageSize);
  const buf = new Uint8Array(decoder.pageSize * 64);
  const pages: Uint8Array[] = [];
  const cpus: number[] = [];
  for (;;) {
    const last = done();
    for (const pipe of pipes) {
      const n = pipe.read(buf);
      for (let at = 0; at < n && pages.length < maxPages; at += decoder.pageSize) {
        pages.push(buf.slice(at, at + decoder.pageSize));
        cpus.push(pipe.cpu);
      }
    }
    if (last || pages.length >= maxPages) break;
    await sleep(everyMs);
  }
  return { pages, cpus, pageSize: decoder.pageSize };
}

async function save(name: string, got: Awaited<ReturnType<typeof drain>>): Promise<Capture> {
  const file = `${name}.pages`;
  await writeFile(join(OUT, file), Buffer.concat(got.pages));
  return { file, pageSize: got.pageSize, cpus: got.cpus };
}

/** Runs `record` in a fresh instance on the mono clock, removed afterwards. */
async function capture(name: string, record: (i: TraceInstance) => Promise<Capture>): Promise<Capture> {
  const instance = await TraceInstance.create(`fixtures-${name}`);
  try {
    await instance.setClock("mono");
    return await record(instance);
  } finally {
    await instance.close();
  }
}

async function main(): Promise<void> {
  const root = await findTracefs();
  await mkdir(OUT, { recursive: true });
  // tracefs files report size 0, so copyFile would copy nothing: read them, then write.
  const keep = async (from: string, to: string) =>
    writeFile(join(OUT, to), await readFile(join(root, "events", from)));
  for (const f of ["header_page", "header_event"]) await keep(f, f);
  for (const e of FIXTURE_EVENTS) await keep(`kvm/${e}/format`, `${e}.format`);
  await keep("ftrace/print/format", "print.format");

  const ctx = labContext(progressReporter((t) => process.stderr.write(`[lab] ${t}`)));
  const captures = await withKvmLease(ctx, async (domain) => {
    await untilBootLoop(domain);
    const tids = [...(await vcpuThreads(await qemuPid(domain))).values()];
    const steady = await capture("kvm", async (i) => {
      await i.setBufferSizeKb(2048);
      await i.enableEvents(CAPTURE, tids);
      const until = Date.now() + 300;
      return save("kvm", await drain(i, 48, 5, () => Date.now() > until));
    });
    const lost = await capture("lost", async (i) => {
      await i.setBufferSizeKb(16);
      await i.enableEvents(["kvm:kvm_emulate_insn", "kvm:kvm_pio"], tids);
      await sleep(300);
      return save("lost", await drain(i, 8, 0, () => true));
    });
    return { steady, lost };
  });
  const markers = await capture("markers", async (i) => {
    for (let n = 0; n < 5; n++) {
      await writeFile(join(i.path, "trace_marker"), `kvmon fixture marker ${n}`);
      await sleep(200);
    }
    return save("markers", await drain(i, 16, 0, () => true));
  });
  const manifest = { kernel: release(), recorded: new Date().toISOString(), ...captures, markers };
  await writeFile(join(OUT, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  process.stdout.write(
    JSON.stringify(manifest, (k, v: unknown) => (k === "cpus" ? (v as number[]).length : v), 2) + "\n",
  );
}

await main();

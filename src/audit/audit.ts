/**
 * Gathers what `kvmon audit` judges, per domain and disk: the persistent and live definitions (libvirt), QEMU's
 * command line and the flags it holds each image open with (/proc of the QEMU process, found by libvirt's pid
 * file), QMP `query-block` when asked (libvirt's monitor passthrough, which taints the domain), and the average
 * latency over a window (two bulk stats calls). The first stats sample is taken before everything else, so the
 * window overlaps the other work. Then rules.ts draws the findings.
 */
import { readFile, realpath } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  DomainStatsFlag,
  DomainStatsGroup,
  type DomainRef,
  type DomainStatsRecord,
  type LibvirtClient,
} from "../protocol/libvirt/index.ts";
import { DEFAULT_PROC_PATHS, type ProcPaths, qemuPid } from "../tracer/vcpu-threads.ts";
import { KvmonError } from "../shared/errors.ts";
import { parseDiskDefinitions, XML_INACTIVE } from "./disk-definition.ts";
import { diskLatencies } from "./latency.ts";
import { openImages } from "./open-images.ts";
import { AuditError } from "./errors.ts";
import { cmdlineDisks, guestName, splitCmdline } from "./qemu-cmdline.ts";
import { findQueryBlock, parseQueryBlock, QUERY_BLOCK } from "./query-block.ts";
import { diskFindings, effectiveMode, type DiskFacts } from "./rules.ts";
import { storageKind } from "./storage.ts";
import type {
  CmdlineDisk,
  DiskAudit,
  DiskDefinition,
  DiskLatency,
  DomainAudit,
  QueryBlockDisk,
} from "./types.ts";

export interface AuditOptions {
  /** Ask QEMU through QMP `query-block` (libvirt marks the domain tainted: custom-monitor). */
  qmp?: boolean;
  /** Latency window in ms; 0 skips the latency measurement. */
  windowMs?: number;
  paths?: ProcPaths;
  /** What the audit is doing now, for a progress line. */
  onProgress?: (text: string) => void;
}

interface Runtime {
  pid: number | null;
  cmdline: Map<string, CmdlineDisk>;
  queryBlock: QueryBlockDisk[] | null;
  notes: string[];
}

/** Audits `domains` (all of them share one latency window). */
export async function auditDomains(
  client: LibvirtClient,
  domains: readonly DomainRef[],
  opts: AuditOptions = {},
): Promise<DomainAudit[]> {
  const paths = opts.paths ?? DEFAULT_PROC_PATHS;
  const windowMs = opts.windowMs ?? 2000;
  const running = domains.filter((d) => d.id !== -1);
  const blockStats = () =>
    client.getAllDomainStats({
      stats: DomainStatsGroup.BLOCK,
      domains: running,
      flags: DomainStatsFlag.NOWAIT,
    });
  const first = windowMs > 0 && running.length > 0 ? { records: await blockStats(), at: Date.now() } : null;
  const transient = new Set((await client.listAllDomains(DomainStatsFlag.TRANSIENT)).map((d) => d.uuid));
  const partial: Array<Omit<DomainAudit, "disks"> & { facts: DiskFacts[] }> = [];
  for (const dom of domains) {
    opts.onProgress?.(`reading ${dom.name}`);
    partial.push(await gatherDomain(client, dom, !transient.has(dom.uuid), paths, opts.qmp ?? false));
  }
  let latency = new Map<string, Map<string, DiskLatency>>();
  if (first) {
    const waitMs = first.at + windowMs - Date.now();
    if (waitMs > 0) {
      opts.onProgress?.(`measuring latency over ${windowMs / 1000} s`);
      await sleep(waitMs);
    }
    latency = latencyByDomain(first.records, first.at, await blockStats(), Date.now());
  }
  return partial.map(({ facts, ...domain }) => ({
    ...domain,
    disks: facts.map((f) => {
      const withLatency = { ...f, latency: latency.get(domain.uuid)?.get(f.target) ?? null };
      const effective = effectiveMode(withLatency, domain);
      return {
        ...withLatency,
        effective,
        findings: diskFindings(withLatency, domain, effective),
      } satisfies DiskAudit;
    }),
  }));
}

function latencyByDomain(
  first: DomainStatsRecord[],
  firstAt: number,
  second: DomainStatsRecord[],
  secondAt: number,
): Map<string, Map<string, DiskLatency>> {
  const out = new Map<string, Map<string, DiskLatency>>();
  for (const record of second) {
    const before = first.find(
      (r) => r.domain.uuid === record.domain.uuid && r.domain.id === record.domain.id,
    );
    if (before) {
      out.set(record.domain.uuid, diskLatencies({ record: before, at: firstAt }, { record, at: secondAt }));
    }
  }
  return out;
}

async function gatherDomain(
  client: LibvirtClient,
  dom: DomainRef,
  persistent: boolean,
  paths: ProcPaths,
  qmp: boolean,
) {
  const isRunning = dom.id !== -1;
  const persistentDisks = persistent ? parseDiskDefinitions(await client.domainXml(dom, XML_INACTIVE)) : [];
  const liveDisks = isRunning ? parseDiskDefinitions(await client.domainXml(dom, 0)) : [];
  const runtime: Runtime = isRunning
    ? await readRuntime(client, dom, paths, qmp)
    : { pid: null, cmdline: new Map(), queryBlock: null, notes: ["not running: definitions only"] };
  const targets = [...new Set([...liveDisks, ...persistentDisks].map((d) => d.target))];
  const facts: DiskFacts[] = [];
  for (const target of targets) {
    const live = liveDisks.find((d) => d.target === target) ?? null;
    const def = (live ?? persistentDisks.find((d) => d.target === target))!;
    const cmdline = live?.alias ? (runtime.cmdline.get(live.alias) ?? null) : null;
    facts.push({
      target,
      persistent: persistentDisks.find((d) => d.target === target) ?? null,
      live,
      cmdline,
      queryBlock: runtime.queryBlock
        ? findQueryBlock(runtime.queryBlock, live?.alias ?? null, cmdline?.nodeName ?? null)
        : null,
      openImages: runtime.pid !== null && live ? await imagesOf(paths, runtime.pid, live) : [],
      storage: await storageKind(def),
      latency: null,
    });
    if (isRunning && live && !cmdline && runtime.pid !== null) {
      runtime.notes.push(
        `${target}: not on QEMU's command line (hot-plugged, or an old -drive command line)` +
          (qmp ? "" : "; --qmp shows its runtime cache flags"),
      );
    }
  }
  return {
    name: dom.name,
    uuid: dom.uuid,
    running: isRunning,
    persistent,
    pid: runtime.pid,
    notes: runtime.notes,
    facts,
  };
}

/** QEMU's side of a running domain; what cannot be read becomes a note, not a failure of the whole audit. */
async function readRuntime(
  client: LibvirtClient,
  dom: DomainRef,
  paths: ProcPaths,
  qmp: boolean,
): Promise<Runtime> {
  const runtime: Runtime = { pid: null, cmdline: new Map(), queryBlock: null, notes: [] };
  try {
    const pid = await qemuPid(paths, dom.name);
    const raw = await readFile(join(paths.procRoot, String(pid), "cmdline"));
    const args = splitCmdline(raw);
    if (guestName(args) !== dom.name) {
      throw new AuditError(
        "AUDIT_CMDLINE",
        `process ${pid} is not the QEMU of '${dom.name}' (a stale pid file?)`,
      );
    }
    runtime.cmdline = cmdlineDisks(args);
    runtime.pid = pid;
  } catch (e) {
    if (!(e instanceof KvmonError) && (e as NodeJS.ErrnoException).code === undefined) throw e;
    runtime.notes.push(
      `QEMU process not readable here (${(e as Error).message}): command line and open flags skipped ` +
        "(run as root on the domain's host)",
    );
  }
  if (qmp) {
    try {
      runtime.queryBlock = parseQueryBlock(await client.qemuMonitorCommand(dom, QUERY_BLOCK));
    } catch (e) {
      if (!(e instanceof KvmonError)) throw e;
      runtime.notes.push(`query-block failed: [${e.code}] ${e.message}`);
    }
  }
  return runtime;
}

async function imagesOf(paths: ProcPaths, pid: number, disk: DiskDefinition) {
  if (disk.source === null || (disk.type !== "file" && disk.type !== "block")) return [];
  const path = await realpath(disk.source).catch(() => disk.source!);
  return openImages(paths.procRoot, pid, new Set([path])).catch(() => []);
}

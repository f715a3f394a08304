/**
 * The audit's rule table (peers-next.md section 6): from what the definitions say and what QEMU runs with, the
 * mode in effect and the findings, each with a severity and what it means for the data. Pure: no I/O.
 *
 * | rule                   | severity | when                                                                  |
 * |------------------------|----------|-----------------------------------------------------------------------|
 * | unsafe-cache           | critical | flushes ignored (cache=unsafe, no-flush=on) on a disk that holds data |
 * | native-without-direct  | critical | io=native without O_DIRECT: QEMU refuses to start or attach it         |
 * | migration-unsafe       | warning  | writable disk on local storage with a cache other than none/directsync |
 * | writeback              | info     | host page cache, guest flushes honoured                               |
 * | writethrough/directsync| info     | safe, slower writes                                                   |
 * | default-cache          | info     | no cache in the definition: the mode QEMU resolved it to              |
 * | next-boot-differs      | warning  | persistent definition's cache/io differ from the running one          |
 * | live-only / next-boot-only | info | disk only in the live / only in the persistent definition            |
 * | runtime-mismatch       | warning  | live definition differs from QEMU's command line or query-block       |
 * | open-flags-mismatch    | warning  | the image's open flags (O_DIRECT, access) differ from the mode        |
 */
import { cacheMode, IO_DEFAULT, modeOf, resolveMode } from "../model/cache-modes.ts";
import type { CacheFlags, DiskAudit, DiskDefinition, Finding, Severity } from "./types.ts";

export type DiskFacts = Omit<DiskAudit, "findings" | "effective">;

export interface DomainFacts {
  running: boolean;
  /** Has a persistent definition (a transient domain has only the live one). */
  persistent: boolean;
}

function describe(flags: CacheFlags): string {
  const onOff = (b: boolean) => (b ? "on" : "off");
  const mode = modeOf(flags);
  return (
    `write-cache=${onOff(flags.writeback)} cache.direct=${onOff(flags.direct)} ` +
    `cache.no-flush=${onOff(flags.noFlush)}${mode ? ` (${mode})` : " (no libvirt mode)"}`
  );
}

function flagsOfDefinition(def: DiskDefinition): CacheFlags | null {
  return cacheMode(resolveMode(def.cache))?.flags ?? null;
}

/** A disk whose content matters: writable and not a removable medium. */
function holdsData(def: DiskDefinition | null): boolean {
  return def !== null && !def.readonly && def.device !== "cdrom" && def.device !== "floppy";
}

/** The mode in effect: what QEMU reports first, then its command line, then the definitions. */
export function effectiveMode(facts: DiskFacts, domain: DomainFacts): DiskAudit["effective"] {
  const def = domain.running ? facts.live : facts.persistent;
  const fromRuntime = facts.queryBlock
    ? { cache: facts.queryBlock.cache, from: "query-block" }
    : facts.cmdline
      ? { cache: facts.cmdline.cache, from: "QEMU command line" }
      : null;
  const cache = fromRuntime?.cache ?? (def ? flagsOfDefinition(def) : null);
  return {
    mode: cache ? modeOf(cache) : null,
    cache,
    aio: facts.cmdline?.aio ?? (def ? (def.io ?? IO_DEFAULT) : null),
    from: fromRuntime?.from ?? (domain.running ? "live definition" : "persistent definition"),
  };
}

/** The findings about one mode (the one in effect, or the one the next boot will use). */
function modeFindings(
  def: DiskDefinition,
  cache: CacheFlags,
  aio: string | null,
  storage: DiskFacts["storage"],
  when: string,
): Finding[] {
  const out: Finding[] = [];
  const add = (rule: string, severity: Severity, message: string, meaning: string) =>
    out.push({ rule, severity, message: when + message, meaning });
  const mode = modeOf(cache);
  const meaning = (mode && cacheMode(mode)?.meaning) ?? "";
  if (cache.noFlush) {
    if (holdsData(def)) {
      add("unsafe-cache", "critical", "flushes are ignored (cache=unsafe) on a writable disk", meaning);
    } else
      add(
        "unsafe-cache",
        "info",
        `flushes are ignored on a ${def.readonly ? "read-only" : def.device} disk`,
        meaning,
      );
  }
  if (aio === "native" && !cache.direct) {
    add(
      "native-without-direct",
      "critical",
      "io=native without O_DIRECT (cache.direct=off)",
      "QEMU refuses it ('aio=native was specified, but it requires cache.direct=on'): Linux does native AIO only " +
        "on files opened with O_DIRECT, so the domain does not start or the disk does not attach. Use " +
        "cache='none' or 'directsync' with io='native', or io='threads'.",
    );
  }
  if (holdsData(def) && !def.shareable && (storage === "local" || storage === "unknown")) {
    if (mode !== "none" && mode !== "directsync") {
      add(
        "migration-unsafe",
        "warning",
        `cache=${mode ?? "custom"} on ${storage === "local" ? "local" : "unidentified"} storage blocks live migration`,
        "libvirt refuses to migrate it ('Migration may lead to data corruption if disks use cache other than " +
          "none or directsync') unless the storage is copied or --unsafe is given: the host page cache may " +
          "hold writes the destination never sees.",
      );
    }
  }
  if (mode === "writeback")
    add("writeback", "info", "cache=writeback: the host page cache holds writes", meaning);
  if (mode === "writethrough" || mode === "directsync")
    add(mode, "info", `cache=${mode}: safe, slower writes`, meaning);
  return out;
}

function sameDefinitionMode(a: DiskDefinition, b: DiskDefinition): boolean {
  return resolveMode(a.cache) === resolveMode(b.cache) && (a.io ?? IO_DEFAULT) === (b.io ?? IO_DEFAULT);
}

const modeText = (d: DiskDefinition) => `cache=${d.cache ?? "default"} io=${d.io ?? "default"}`;

/** Every finding for one disk. */
export function diskFindings(
  facts: DiskFacts,
  domain: DomainFacts,
  effective = effectiveMode(facts, domain),
) {
  const out: Finding[] = [];
  const { persistent, live } = facts;
  const def = domain.running ? live : persistent;
  if (def && effective.cache)
    out.push(...modeFindings(def, effective.cache, effective.aio, facts.storage, ""));
  if (def && (def.cache === null || def.cache === "default")) {
    out.push({
      rule: "default-cache",
      severity: "info",
      message: `no cache mode in the definition: QEMU uses ${effective.mode ?? "writeback"}`,
      meaning: `libvirt passes no mode and QEMU's default is writeback (${effective.from}: ${
        effective.cache ? describe(effective.cache) : "not visible"
      }).`,
    });
  }
  if (domain.running) out.push(...definitionMismatches(facts, domain));
  if (domain.running && live) out.push(...runtimeMismatches(facts, live, effective));
  return out;
}

function definitionMismatches(facts: DiskFacts, domain: DomainFacts): Finding[] {
  const { persistent, live } = facts;
  if (persistent && live && !sameDefinitionMode(persistent, live)) {
    const next = flagsOfDefinition(persistent);
    return [
      {
        rule: "next-boot-differs",
        severity: "warning",
        message:
          `the next boot uses another mode: the persistent definition says ${modeText(persistent)}, ` +
          `the running domain has ${modeText(live)}`,
        meaning:
          "The persistent definition was changed while the domain runs (virsh define/edit, attach-device " +
          "--config); what the audit shows for now changes at the next cold boot.",
      },
      ...(next
        ? modeFindings(persistent, next, persistent.io ?? IO_DEFAULT, facts.storage, "next boot: ")
        : []),
    ];
  }
  if (live && !persistent && domain.persistent) {
    return [
      {
        rule: "live-only",
        severity: "info",
        message: "attached to the running domain only: gone after the next boot",
        meaning: "The disk was hot-plugged without --config; the persistent definition does not have it.",
      },
    ];
  }
  if (persistent && !live) {
    return [
      {
        rule: "next-boot-only",
        severity: "info",
        message: "in the persistent definition only: attached at the next boot",
        meaning:
          "The disk was added with --config while the domain runs; the running domain does not have it.",
      },
    ];
  }
  return [];
}

function runtimeMismatches(
  facts: DiskFacts,
  live: DiskDefinition,
  effective: DiskAudit["effective"],
): Finding[] {
  const out: Finding[] = [];
  const expected = flagsOfDefinition(live);
  const mismatch = (message: string) =>
    out.push({
      rule: "runtime-mismatch",
      severity: "warning",
      message,
      meaning:
        "libvirt's live definition is not what QEMU runs with: something changed the disk behind libvirt's " +
        "back (a QMP passthrough) or libvirt translated the mode differently; trust the runtime view.",
    });
  const views: Array<[string, CacheFlags | undefined]> = [
    ["QEMU's command line", facts.cmdline?.cache],
    ["query-block", facts.queryBlock?.cache],
  ];
  for (const [where, flags] of views) {
    if (
      expected &&
      flags &&
      (flags.writeback !== expected.writeback ||
        flags.direct !== expected.direct ||
        flags.noFlush !== expected.noFlush)
    ) {
      mismatch(
        `the live definition says cache=${resolveMode(live.cache)} but ${where} has ${describe(flags)}`,
      );
    }
  }
  if (facts.cmdline && facts.cmdline.aio !== (live.io ?? IO_DEFAULT)) {
    mismatch(
      `the live definition says io=${live.io ?? "default"} but QEMU's command line has aio=${facts.cmdline.aio}`,
    );
  }
  const direct = effective.cache?.direct;
  for (const open of facts.openImages) {
    const problems: string[] = [];
    if (direct !== undefined && open.direct !== direct)
      problems.push(open.direct ? "has O_DIRECT" : "lacks O_DIRECT");
    if (live.readonly && open.access !== "read-only")
      problems.push(`is open ${open.access} on a read-only disk`);
    if (problems.length > 0) {
      out.push({
        rule: "open-flags-mismatch",
        severity: "warning",
        message: `fd ${open.fd} on ${open.path} ${problems.join(" and ")} (flags ${open.flagsOctal}; ${effective.from} says cache.direct=${direct ? "on" : "off"})`,
        meaning:
          "The open flags are what the kernel applies to QEMU's I/O: with O_DIRECT the host page cache is bypassed, " +
          "without it every write goes through host memory first.",
      });
    }
  }
  return out;
}

/**
 * Memory (bulk stats group BALLOON): assigned (current) and maximum memory, QEMU's RSS, and the guest's own
 * balloon statistics, from which "used" is derived (formula and sources in model/memory.ts). Balloon stats only
 * exist when the guest runs a balloon driver and the domain has a stats period (<memballoon><stats period=.../>).
 */
import { memoryUsed } from "../model/memory.ts";
import { counterValue } from "../model/rate.ts";
import type { CounterValue } from "../model/types.ts";
import { DomainStatsGroup } from "../protocol/libvirt/types.ts";
import { KIB } from "./params.ts";
import { counter, emitPresent, gauge } from "../metrics/catalog.ts";
import type { DomainCollector } from "./types.ts";

const m = {
  current: gauge(
    "kvmon_domain_memory_current_bytes",
    "Memory currently assigned to the guest (balloon size).",
    { source: "balloon.current (KiB)" },
  ),
  maximum: gauge(
    "kvmon_domain_memory_maximum_bytes",
    "Maximum memory the guest may be given; a limit, not usage.",
    { source: "balloon.maximum (KiB)" },
  ),
  rss: gauge("kvmon_domain_memory_rss_bytes", "Resident set size of the QEMU process on the host.", {
    source: "balloon.rss (KiB)",
  }),
  used: gauge(
    "kvmon_domain_memory_used_bytes",
    "Memory used inside the guest: available − usable (see docs for fallbacks).",
    { source: "balloon.available − balloon.usable (KiB)" },
  ),
  available: gauge("kvmon_domain_memory_available_bytes", "Total memory as seen by the guest (MemTotal).", {
    source: "balloon.available (KiB)",
  }),
  unused: gauge("kvmon_domain_memory_unused_bytes", "Memory left completely unused by the guest (MemFree).", {
    source: "balloon.unused (KiB)",
  }),
  usable: gauge(
    "kvmon_domain_memory_usable_bytes",
    "Memory the guest can use without swapping (MemAvailable).",
    { source: "balloon.usable (KiB)" },
  ),
  caches: gauge("kvmon_domain_memory_disk_caches_bytes", "Guest page cache that can be reclaimed.", {
    source: "balloon.disk_caches (KiB)",
  }),
  swapIn: counter("kvmon_domain_memory_swap_in_bytes_total", "Memory the guest swapped in.", {
    source: "balloon.swap_in (KiB)",
  }),
  swapOut: counter("kvmon_domain_memory_swap_out_bytes_total", "Memory the guest swapped out.", {
    source: "balloon.swap_out (KiB)",
  }),
  majorFaults: counter(
    "kvmon_domain_memory_major_faults_total",
    "Page faults in the guest that needed disk I/O.",
    { source: "balloon.major_fault" },
  ),
  minorFaults: counter(
    "kvmon_domain_memory_minor_faults_total",
    "Page faults in the guest served without disk I/O.",
    { source: "balloon.minor_fault" },
  ),
  lastUpdate: gauge(
    "kvmon_domain_memory_balloon_last_update_timestamp_seconds",
    "When the guest last reported balloon statistics.",
    { source: "balloon.last-update" },
  ),
};

export const memoryCollector: DomainCollector = {
  kind: "domain",
  name: "memory",
  description: "current/maximum memory, RSS, guest balloon stats and the memory the guest really uses",
  defaultEnabled: true,
  statsGroups: DomainStatsGroup.BALLOON,
  metrics: Object.values(m),
  collect(input, out) {
    const { stats, elapsedSeconds: dt, restarted } = input;
    const cur = stats.scaled("balloon.current", KIB);
    const max = stats.scaled("balloon.maximum", KIB);
    if (cur === undefined || max === undefined || !input.active) {
      out.memory = null;
      return;
    }
    const kib = (f: string): number | null => stats.scaled(`balloon.${f}`, KIB) ?? null;
    const prev = input.previous?.memory;
    const ctr = (f: string, scale: number, p: CounterValue | null | undefined): CounterValue | null => {
      const v = stats.scaled(`balloon.${f}`, scale);
      return v === undefined ? null : counterValue(v, p, dt, restarted);
    };
    const figures = {
      availableBytes: kib("available"),
      unusedBytes: kib("unused"),
      usableBytes: kib("usable"),
      diskCachesBytes: kib("disk_caches"),
    };
    const lastUpdate = stats.num("balloon.last-update");
    out.memory = {
      currentBytes: cur,
      maximumBytes: max,
      rssBytes: kib("rss"),
      ...figures,
      ...memoryUsed(figures),
      swapInBytes: ctr("swap_in", KIB, prev?.swapInBytes),
      swapOutBytes: ctr("swap_out", KIB, prev?.swapOutBytes),
      majorFaults: ctr("major_fault", 1, prev?.majorFaults),
      minorFaults: ctr("minor_fault", 1, prev?.minorFaults),
      // 0 means the guest never reported (libvirt's initial value), not 1970.
      balloonLastUpdate: lastUpdate !== undefined && lastUpdate > 0 ? lastUpdate : null,
    };
  },
  expose(sample, emit) {
    const x = sample.memory;
    if (!x) return;
    emit(m.current, x.currentBytes);
    emit(m.maximum, x.maximumBytes);
    const opt = emitPresent(emit);
    opt(m.rss, x.rssBytes);
    opt(m.used, x.usedBytes);
    opt(m.available, x.availableBytes);
    opt(m.unused, x.unusedBytes);
    opt(m.usable, x.usableBytes);
    opt(m.caches, x.diskCachesBytes);
    opt(m.swapIn, x.swapInBytes);
    opt(m.swapOut, x.swapOutBytes);
    opt(m.majorFaults, x.majorFaults);
    opt(m.minorFaults, x.minorFaults);
    opt(m.lastUpdate, x.balloonLastUpdate);
  },
};

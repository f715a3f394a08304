/** `top`'s outputs for scripts and logs: one snapshot as JSON, and CSV rows (a row per VM per refresh). */
import type { ViewSnapshot } from "../view/types.ts";
import { diskRows, hostedRows, nicRows, vcpuRows, type VmRow, vmRow } from "./rows.ts";
import { filterDomains, type Filter, sortRows } from "./table.ts";
import { viewOf } from "./columns.ts";

/** The JSON of `--once --json`: the table's numbers, with units in the field names. */
export function snapshotJson(snap: ViewSnapshot, filter: Filter, sortKey: string) {
  const domains = filterDomains(snap.domains, filter);
  return {
    source: snap.source,
    origin: snap.origin,
    collectedAt: new Date(snap.collectedAt).toISOString(),
    host: snap.host && {
      hostname: snap.host.hostname,
      cpus: snap.host.node?.cpus ?? null,
      memoryBytes: snap.host.node?.memoryBytes ?? null,
    },
    ...(snap.hosts ? { hosts: snap.hosts } : {}),
    vms: sortRows(
      viewOf("vms", snap.hosts !== null),
      domains.flatMap((d) => hostedRows(d, [vmRow(d)])),
      sortKey,
    ),
    vcpus: domains.flatMap((d) => hostedRows(d, vcpuRows(d))),
    disks: domains.flatMap((d) => hostedRows(d, diskRows(d))),
    nics: domains.flatMap((d) => hostedRows(d, nicRows(d))),
  };
}

const CSV_FIELDS: ReadonlyArray<keyof VmRow> = [
  "name",
  "state",
  "cpuPercent",
  "guestCpuPercent",
  "stealPercent",
  "vcpus",
  "memoryUsedBytes",
  "memoryTotalBytes",
  "memorySource",
  "diskReadBytesPerSecond",
  "diskWriteBytesPerSecond",
  "diskReadOpsPerSecond",
  "diskWriteOpsPerSecond",
  "netRxBytesPerSecond",
  "netTxBytesPerSecond",
  "kvmExitsPerSecond",
  "cpuTimeSeconds",
];

export const CSV_HEADER = `time,source,${CSV_FIELDS.join(",")}\n`;

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled; unknown values are empty. */
export function csvField(v: string | number | null): string {
  if (v === null) return "";
  const s = typeof v === "number" ? String(Math.round(v * 1000) / 1000) : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One line per VM of the snapshot (filtered, sorted as the table); a fleet's VMs named host/vm. */
export function csvRows(snap: ViewSnapshot, filter: Filter, sortKey: string): string {
  const time = new Date(snap.collectedAt).toISOString();
  const view = viewOf("vms", snap.hosts !== null);
  const domains = filterDomains(snap.domains, filter);
  const rows = sortRows(
    view,
    domains.flatMap((d) => hostedRows(d, [vmRow(d)])),
    sortKey,
  );
  return rows
    .map((r) => {
      const named = { ...r, name: r.host === undefined ? r.name : `${r.host}/${r.name}` };
      return [time, snap.source, ...CSV_FIELDS.map((f) => named[f])].map(csvField).join(",") + "\n";
    })
    .join("");
}

/** Filtering, sorting and drawing the rows of a `top` view as fixed-width text lines. */
import type { DomainSample } from "../../model/types.ts";
import type { ViewDomain } from "../view/types.ts";
import type { AnyView, Column } from "./columns.ts";
import { hostedRows } from "./rows.ts";

/** virt-top's sort keys: P CPU, M memory, T time, N name. */
export const SORT_KEYS: Readonly<Record<string, string>> = { P: "cpu", M: "mem", T: "time", N: "name" };

/** States `--state` and `s` accept besides libvirt's state names. */
export const STATE_GROUPS = ["active", "inactive"] as const;

export interface Filter {
  /** Substring of the name, or a glob with * and ?; case-insensitive. */
  name: string | null;
  /** A state name (running, paused, shutoff, ...), or active / inactive. */
  state: string | null;
}

function nameMatcher(pattern: string): (name: string) => boolean {
  const p = pattern.toLowerCase();
  if (!/[*?]/.test(p)) return (n) => n.toLowerCase().includes(p);
  const re = new RegExp(
    `^${p
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  return (n) => re.test(n.toLowerCase());
}

export function filterDomains<D extends DomainSample>(domains: readonly D[], f: Filter): D[] {
  const byName = f.name ? nameMatcher(f.name) : () => true;
  const byState = (d: DomainSample): boolean => {
    if (!f.state) return true;
    const active = d.state?.active ?? d.source === "socket";
    if (f.state === "active") return active;
    if (f.state === "inactive") return !active;
    return d.state?.state === f.state;
  };
  return domains.filter((d) => byName(d.name) && byState(d));
}

/** The view's column for a sort key (a column key, or P/M/T/N), falling back to the name column. */
export function sortColumn(view: AnyView, key: string): Column<unknown> {
  const k = SORT_KEYS[key] ?? key;
  return view.columns.find((c) => c.key === k) ?? view.columns[0]!;
}

/** Numbers largest first (unknown last), text in alphabetical order; ties by name, then by the row's order. */
export function sortRows<R extends { name: string }>(view: AnyView, rows: readonly R[], key: string): R[] {
  const c = sortColumn(view, key);
  return rows
    .map((row, i) => ({ row, i, v: c.value(row) }))
    .sort((a, b) => {
      let d = 0;
      if (typeof a.v === "number" || typeof b.v === "number") {
        if (a.v === null) d = b.v === null ? 0 : 1;
        else if (b.v === null) d = -1;
        else d = (b.v as number) - (a.v as number);
      } else d = String(a.v ?? "").localeCompare(String(b.v ?? ""));
      return d || a.row.name.localeCompare(b.row.name) || a.i - b.i;
    })
    .map((x) => x.row);
}

export function viewRows(view: AnyView, domains: readonly ViewDomain[]): Array<{ name: string }> {
  return domains.flatMap((d) => hostedRows(d, view.rows(d) as Array<{ name: string }>));
}

export interface DrawOptions {
  /** Terminal columns: lines are cut to it. */
  width: number;
  sortKey: string;
  /** Mark the sort column in reverse video (TTY with colours only). */
  color: boolean;
}

/** Column widths for these rows: text columns grow to their longest value (names up to 24 characters). */
export function columnWidths(view: AnyView, rows: readonly unknown[]): number[] {
  return view.columns.map((c) => {
    if (!c.left) return Math.max(c.width, c.header.length);
    const longest = Math.max(c.header.length, ...rows.map((r) => c.format(c.value(r)).length));
    return Math.min(Math.max(c.width, longest), c.key === "name" ? 24 : 17);
  });
}

function cell(text: string, width: number, left: boolean | undefined): string {
  const t = text.length > width ? `${text.slice(0, width - 1)}~` : text;
  return left ? t.padEnd(width) : t.padStart(width);
}

/** Header line and one line per row, cut to the width. */
export function drawTable(view: AnyView, rows: readonly unknown[], o: DrawOptions): string[] {
  const widths = columnWidths(view, rows);
  const cut = (l: string) => (l.length > o.width ? l.slice(0, o.width) : l);
  const header = cut(view.columns.map((c, i) => cell(c.header, widths[i]!, c.left)).join(" "));
  const lines = rows.map((r) =>
    cut(view.columns.map((c, i) => cell(c.format(c.value(r)), widths[i]!, c.left)).join(" ")),
  );
  return [
    o.color ? markColumn(header, widths, view.columns.indexOf(sortColumn(view, o.sortKey))) : header,
    ...lines,
  ];
}

/** The header with column `index` in reverse video (escape codes added after cutting, so widths stay right). */
function markColumn(header: string, widths: readonly number[], index: number): string {
  const start = widths.slice(0, index).reduce((a, w) => a + w + 1, 0);
  if (start >= header.length) return header;
  const end = Math.min(header.length, start + widths[index]!);
  return `${header.slice(0, start)}\x1b[7m${header.slice(start, end)}\x1b[27m${header.slice(end)}`;
}

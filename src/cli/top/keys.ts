/**
 * `top`'s keys (virt-top's where it has them), as a pure function from state and key to the next state, so
 * every key is unit-tested without a terminal:
 *   P M T N   sort by CPU, memory, CPU time, name     F  pick the sort column (then its letter)
 *   1 2 3     per-vCPU, per-disk, per-NIC view         0  back to the VM view (also: the same key again)
 *   /         filter by name (Enter applies, Esc cancels, empty clears)
 *   s         cycle the state filter: active, running, paused, shutoff, inactive, all
 *   h ?       help                                     q, Ctrl-C  quit
 */
import { VIEWS, type ViewName } from "./columns.ts";
import { type Filter, SORT_KEYS } from "./table.ts";

export type Mode = "normal" | "pick-sort" | "filter-name" | "help";

export interface TopState {
  view: ViewName;
  sortKey: string;
  filter: Filter;
  mode: Mode;
  /** The name filter being typed. */
  input: string;
  quit: boolean;
}

/** The VM view, sorted and filtered as the flags say. */
export function initialState(sortKey: string, filter: Filter): TopState {
  return { view: "vms", sortKey, filter, mode: "normal", input: "", quit: false };
}

export const STATE_CYCLE: ReadonlyArray<string | null> = [
  null,
  "active",
  "running",
  "paused",
  "shutoff",
  "inactive",
];

const VIEW_KEYS: Readonly<Record<string, ViewName>> = { "0": "vms", "1": "vcpus", "2": "disks", "3": "nics" };

/** The letter `F` offers for the view's column `i`: a, b, c, ... */
export const pickLetter = (i: number) => String.fromCharCode(97 + i);

const ESC = "\x1b";
const CTRL_C = "\x03";

export function handleKey(s: TopState, key: string): TopState {
  if (key === CTRL_C) return { ...s, quit: true };
  switch (s.mode) {
    case "help":
      return { ...s, mode: "normal" };
    case "pick-sort": {
      const i = key.charCodeAt(0) - 97;
      const c = key.length === 1 ? VIEWS[s.view].columns[i] : undefined;
      return { ...s, mode: "normal", sortKey: c ? c.key : s.sortKey };
    }
    case "filter-name":
      if (key === "\r" || key === "\n")
        return { ...s, mode: "normal", filter: { ...s.filter, name: s.input || null } };
      if (key === ESC) return { ...s, mode: "normal", input: "" };
      if (key === "\x7f" || key === "\b") return { ...s, input: s.input.slice(0, -1) };
      return key.length === 1 && key >= " " ? { ...s, input: s.input + key } : s;
    case "normal":
      break;
  }
  if (key === "q") return { ...s, quit: true };
  if (SORT_KEYS[key]) return { ...s, sortKey: SORT_KEYS[key]! };
  if (key === "F") return { ...s, mode: "pick-sort" };
  if (key === "h" || key === "?") return { ...s, mode: "help" };
  if (key === "/") return { ...s, mode: "filter-name", input: s.filter.name ?? "" };
  if (key === "s") {
    const next = STATE_CYCLE[(STATE_CYCLE.indexOf(s.filter.state) + 1) % STATE_CYCLE.length]!;
    return { ...s, filter: { ...s.filter, state: next } };
  }
  const view = VIEW_KEYS[key];
  if (view) return { ...s, view: view === s.view ? "vms" : view };
  return s;
}

/** Splits a chunk read from a raw terminal into keys (an escape sequence, such as an arrow key, is one key). */
export function splitKeys(chunk: string): string[] {
  return chunk.match(/\x1b\[[0-9;]*[A-Za-z~]|\x1bO[A-Za-z]|[\s\S]/g) ?? [];
}

export const HELP_LINES = [
  "Keys:",
  "  P  sort by CPU        M  sort by memory      T  sort by CPU time     N  sort by name",
  "  F  pick the sort column (then its letter)",
  "  0  VMs    1  per vCPU    2  per disk    3  per NIC   (the same key again: back to VMs)",
  "  /  filter by name (substring or glob; Enter applies, empty clears, Esc cancels)",
  "  s  cycle the state filter: active, running, paused, shutoff, inactive, all",
  "  q  quit (also Ctrl-C)",
  "",
  "Press any key to return.",
];

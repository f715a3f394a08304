/**
 * What a KVM event says, in the tracer's terms: a `reason` (the exit reason for kvm_exit, read / write for port
 * I/O and MSRs, the MMIO access type, the userspace exit reason...), a `target` for the events whose cost
 * concentrates on one thing (the I/O port, the MMIO guest-physical address, the MSR index; these are
 * aggregated apart), and the details kept in the ring of recent events. Names come from the symbol tables of
 * the running kernel's `print fmt` (src/protocol/tracefs/symbols.ts), never from a list written here; an event
 * without a rule below gets the name of its first symbolic field, if any.
 *
 * Each rule also says which fields its reason is computed from and which field is the target, so the counting
 * path (page-counter.ts) reads just those from the page and names a reason once per distinct value.
 */
import {
  type EventFormat,
  type FieldValue,
  type SymbolTable,
  symbolize,
  symbolTables,
} from "../protocol/tracefs/index.ts";

export interface Classified {
  reason: string;
  /** Port, MMIO address or MSR index (hex), for the events aggregated per target; "" otherwise. */
  target: string;
  details: Record<string, string | number>;
}

type Fields = Readonly<Record<string, FieldValue>>;

export type Classifier = (fields: Fields) => Classified;

/** How one event is classified. */
export interface EventRule {
  /** Every field `reason` reads (including those that choose a symbol table, such as kvm_exit's isa). */
  reasonFields: string[];
  reason: (fields: Fields) => string;
  /** The field counted per target (port, MMIO gpa, MSR index), if the event is counted per target. */
  targetField: string | undefined;
  details: (fields: Fields) => Record<string, string | number>;
}

/** A number as the target and detail strings show it: `0x3f8`. */
export const hex = (v: FieldValue | undefined): string =>
  typeof v === "number" || typeof v === "bigint" ? `0x${v.toString(16)}` : "";

const num = (v: FieldValue | undefined): number =>
  typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : 0;

/** A symbolic field's name (`#<value>` when the kernel's table has none; VMX flags appended with `|`). */
function named(tables: readonly SymbolTable[], field: string, fields: Fields) {
  const s = symbolize(tables, field, fields);
  if (!s) return String(fields[field] ?? "");
  return [s.name ?? `#${s.value}`, ...s.flags].join("|");
}

/** The fields naming `field` reads: itself and those that choose its tables. */
function namedFields(tables: readonly SymbolTable[], field: string): string[] {
  const when = tables.filter((t) => t.field === field && t.when).map((t) => t.when!.field);
  return [...new Set([field, ...when])];
}

/** Numbers and strings of a record for the ring of recent events (bytes left out: instruction bytes etc.). */
function plain(fields: Fields): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === "number" || typeof v === "string") out[k] = v;
    else if (typeof v === "bigint") out[k] = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : hex(v);
  }
  return out;
}

/** The rule of one event, built once from its format. */
export function rule(format: EventFormat): EventRule {
  const tables = symbolTables(format);
  switch (format.name) {
    case "kvm_exit":
      return {
        reasonFields: namedFields(tables, "exit_reason"),
        reason: (f) => named(tables, "exit_reason", f),
        targetField: undefined,
        details: (f) => ({
          rip: hex(f.guest_rip),
          info1: hex(f.info1),
          info2: hex(f.info2),
          isa: num(f.isa),
        }),
      };
    case "kvm_pio":
      return {
        reasonFields: ["rw"],
        reason: (f) => (num(f.rw) ? "write" : "read"),
        targetField: "port",
        details: (f) => ({ port: hex(f.port), size: num(f.size), count: num(f.count), val: hex(f.val) }),
      };
    case "kvm_mmio":
      return {
        reasonFields: namedFields(tables, "type"),
        reason: (f) => named(tables, "type", f),
        targetField: "gpa",
        details: (f) => ({ gpa: hex(f.gpa), len: num(f.len), val: hex(f.val) }),
      };
    case "kvm_msr":
      return {
        reasonFields: ["write", "exception"],
        reason: (f) => `${num(f.write) ? "write" : "read"}${num(f.exception) ? " #GP" : ""}`,
        targetField: "ecx",
        details: (f) => ({ msr: hex(f.ecx), data: hex(f.data) }),
      };
    case "kvm_emulate_insn":
      return {
        reasonFields: ["failed", ...namedFields(tables, "flags")],
        reason: (f) => (num(f.failed) ? "failed" : named(tables, "flags", f)),
        targetField: undefined,
        details: (f) => ({ rip: hex(f.rip), csbase: hex(f.csbase), len: num(f.len) }),
      };
    case "kvm_userspace_exit":
      // errno < 0: the run was interrupted (-4, EINTR: "restart") or failed, as the print fmt says.
      return {
        reasonFields: ["errno", ...namedFields(tables, "reason")],
        reason: (f) =>
          num(f.errno) < 0 ? (num(f.errno) === -4 ? "restart" : "error") : named(tables, "reason", f),
        targetField: undefined,
        details: plain,
      };
    default: {
      const field = tables.find((t) => t.kind === "symbolic" && !t.when)?.field;
      return {
        reasonFields: field ? namedFields(tables, field) : [],
        reason: (f) => (field ? named(tables, field, f) : ""),
        targetField: undefined,
        details: plain,
      };
    }
  }
}

/** Classifies a decoded record by a rule. */
export function classifyBy(r: EventRule): Classifier {
  return (f) => ({
    reason: r.reason(f),
    target: r.targetField === undefined ? "" : hex(f[r.targetField]),
    details: r.details(f),
  });
}

/** The classifier of one event, built once from its format. */
export function classifier(format: EventFormat): Classifier {
  return classifyBy(rule(format));
}

/** Classifiers of a decoder's events, by event name. */
export function classifiers(formats: readonly EventFormat[]): Map<string, Classifier> {
  return new Map(formats.map((f) => [f.name, classifier(f)]));
}

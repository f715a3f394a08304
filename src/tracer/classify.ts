/**
 * What one decoded KVM event says, in the tracer's terms: a `reason` (the exit reason for kvm_exit, read /
 * write for port I/O and MSRs, the MMIO access type, the userspace exit reason...), a `target` for the events
 * whose cost concentrates on one thing (the I/O port, the MMIO guest-physical address, the MSR index; these
 * are aggregated apart), and the details kept in the ring of recent events. Names come from the symbol tables
 * of the running kernel's `print fmt` (src/protocol/tracefs/symbols.ts), never from a list written here; an
 * event without a rule below gets the name of its first symbolic field, if any.
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

export type Classifier = (fields: Readonly<Record<string, FieldValue>>) => Classified;

const hex = (v: FieldValue | undefined): string =>
  typeof v === "number" || typeof v === "bigint" ? `0x${v.toString(16)}` : "";

const num = (v: FieldValue | undefined): number =>
  typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : 0;

/** A symbolic field's name (`#<value>` when the kernel's table has none; VMX flags appended with `|`). */
function named(tables: readonly SymbolTable[], field: string, fields: Readonly<Record<string, FieldValue>>) {
  const s = symbolize(tables, field, fields);
  if (!s) return String(fields[field] ?? "");
  return [s.name ?? `#${s.value}`, ...s.flags].join("|");
}

/** Numbers and strings of a record for the ring of recent events (bytes left out: instruction bytes etc.). */
function plain(fields: Readonly<Record<string, FieldValue>>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === "number" || typeof v === "string") out[k] = v;
    else if (typeof v === "bigint") out[k] = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : hex(v);
  }
  return out;
}

/** The classifier of one event, built once from its format. */
export function classifier(format: EventFormat): Classifier {
  const tables = symbolTables(format);
  switch (format.name) {
    case "kvm_exit":
      return (f) => ({
        reason: named(tables, "exit_reason", f),
        target: "",
        details: { rip: hex(f.guest_rip), info1: hex(f.info1), info2: hex(f.info2), isa: num(f.isa) },
      });
    case "kvm_pio":
      return (f) => ({
        reason: num(f.rw) ? "write" : "read",
        target: hex(f.port),
        details: { port: hex(f.port), size: num(f.size), count: num(f.count), val: hex(f.val) },
      });
    case "kvm_mmio":
      return (f) => ({
        reason: named(tables, "type", f),
        target: hex(f.gpa),
        details: { gpa: hex(f.gpa), len: num(f.len), val: hex(f.val) },
      });
    case "kvm_msr":
      return (f) => ({
        reason: `${num(f.write) ? "write" : "read"}${num(f.exception) ? " #GP" : ""}`,
        target: hex(f.ecx),
        details: { msr: hex(f.ecx), data: hex(f.data) },
      });
    case "kvm_emulate_insn":
      return (f) => ({
        reason: num(f.failed) ? "failed" : named(tables, "flags", f),
        target: "",
        details: { rip: hex(f.rip), csbase: hex(f.csbase), len: num(f.len) },
      });
    case "kvm_userspace_exit":
      // errno < 0: the run was interrupted (-4, EINTR: "restart") or failed, as the print fmt says.
      return (f) => ({
        reason: num(f.errno) < 0 ? (num(f.errno) === -4 ? "restart" : "error") : named(tables, "reason", f),
        target: "",
        details: plain(f),
      });
    default: {
      const field = tables.find((t) => t.kind === "symbolic" && !t.when)?.field;
      return (f) => ({ reason: field ? named(tables, field, f) : "", target: "", details: plain(f) });
    }
  }
}

/** Classifiers of a decoder's events, by event name. */
export function classifiers(formats: readonly EventFormat[]): Map<string, Classifier> {
  return new Map(formats.map((f) => [f.name, classifier(f)]));
}

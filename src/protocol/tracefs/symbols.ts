/**
 * Symbol tables the kernel embeds in an event's `print fmt`: `__print_symbolic(REC->f [& MASK], { v, "NAME" },
 * ...)` (a value's name) and `__print_flags(REC->f & MASK, "sep", { bit, "NAME" }, ...)` (names of set bits),
 * each possibly chosen by a condition on another field (`(REC->isa == 1) ? __print_symbolic(...) : ...`).
 * kvm_exit carries the VMX reasons (masked with 0xffff, with the FAILED_VMENTRY flag apart) and the SVM
 * reasons this way, so reading them from the running kernel keeps the names current with no code change.
 * Only this small, regular part of the C expression language is read; anything else is skipped, not guessed.
 */
import type { EventFormat } from "./format.ts";
import { TracefsFormatError } from "./errors.ts";

/** A condition `REC->field == value` (or its negation, for the else branch of `? :`). */
export interface SymbolCondition {
  field: string;
  equals: bigint;
  negate: boolean;
}

export interface SymbolTable {
  kind: "symbolic" | "flags";
  /** The field whose value is named. */
  field: string;
  /** Applied (AND) to the value before lookup; for VMX exit reasons 0xffff (symbolic) or ~0xffff (flags). */
  mask: bigint | undefined;
  when: SymbolCondition | undefined;
  /** value (or bit) -> name, values normalised to the field's unsigned width. */
  symbols: Map<bigint, string>;
}

/** Returns the index just past the parenthesis that closes the one at `open`, skipping strings. */
function closing(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
    } else if (c === "(" || c === "{") depth++;
    else if (c === ")" || c === "}") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new TracefsFormatError("print fmt: unbalanced parentheses");
}

/** Splits at top-level commas (outside parentheses, braces and strings). */
function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
    } else if (c === "(" || c === "{") depth++;
    else if (c === ")" || c === "}") depth--;
    else if (c === "," && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out;
}

/**
 * Evaluates an integer constant expression of the kind symbol tables use: numbers (decimal, hex), unary - and ~,
 * + - | & << >> and parentheses, e.g. `0x040 + 13`, `(1 << 0) | (1 << 2)`, `-1`. Returns undefined otherwise.
 */
export function evalConstant(expr: string): bigint | undefined {
  const tokens = expr.match(/0x[0-9a-fA-F]+|\d+|<<|>>|[-+|&~()]|\S/g) ?? [];
  let pos = 0;
  /** Binary operators by C precedence, loosest first. */
  const LEVELS = [["|"], ["&"], ["<<", ">>"], ["+", "-"]];
  const apply = (op: string, a: bigint, b: bigint): bigint =>
    op === "|"
      ? a | b
      : op === "&"
        ? a & b
        : op === "<<"
          ? a << b
          : op === ">>"
            ? a >> b
            : op === "+"
              ? a + b
              : a - b;
  const unary = (): bigint | undefined => {
    const t = tokens[pos++];
    if (t === undefined) return undefined;
    if (t === "-" || t === "~") {
      const v = unary();
      return v === undefined ? undefined : t === "-" ? -v : ~v;
    }
    if (t === "(") {
      const v = binary(0);
      return tokens[pos++] === ")" ? v : undefined;
    }
    return /^(?:0x[0-9a-fA-F]+|\d+)$/.test(t) ? BigInt(t) : undefined;
  };
  const binary = (level: number): bigint | undefined => {
    if (level === LEVELS.length) return unary();
    let left = binary(level + 1);
    while (left !== undefined && LEVELS[level]!.includes(tokens[pos] ?? "")) {
      const op = tokens[pos++]!;
      const right = binary(level + 1);
      left = right === undefined ? undefined : apply(op, left, right);
    }
    return left;
  };
  const value = binary(0);
  return pos === tokens.length ? value : undefined;
}

/** `"A" "B"` -> "AB" (C string literal concatenation); undefined when the text is not only string literals. */
function stringLiteral(text: string): string | undefined {
  const literal = /"((?:[^"\\]|\\.)*)"/g;
  const parts = text.match(literal);
  if (!parts || text.replace(literal, "").trim() !== "") return undefined;
  return parts.map((p) => p.slice(1, -1)).join("");
}

/** `REC->field`, `REC->field & MASK`: the field and the mask, or undefined for anything else. */
function valueExpr(text: string): { field: string; mask: bigint | undefined } | undefined {
  const m = /^\(?\s*REC->(\w+)\s*(?:&\s*(.+?))?\s*\)?$/.exec(text.trim());
  if (!m) return undefined;
  if (m[2] === undefined) return { field: m[1]!, mask: undefined };
  const mask = evalConstant(m[2]);
  return mask === undefined ? undefined : { field: m[1]!, mask };
}

/** The condition that selects a table: `(REC->f == N) ?` just before it, or the else branch of one. */
function conditionBefore(
  text: string,
  at: number,
  previous: SymbolTable | undefined,
): SymbolCondition | undefined {
  const before = text.slice(0, at);
  const m = /\(\s*REC->(\w+)\s*==\s*([^()?]+?)\s*\)\s*\?\s*$/.exec(before);
  if (m) {
    const equals = evalConstant(m[2]!);
    if (equals !== undefined) return { field: m[1]!, equals, negate: false };
  }
  if (/\)\s*:\s*$/.test(before) && previous?.when && !previous.when.negate) {
    return { ...previous.when, negate: true };
  }
  return undefined;
}

/** Reads every __print_symbolic and __print_flags table of an event's print fmt. */
export function symbolTables(format: EventFormat): SymbolTable[] {
  const text = format.printFmt;
  const tables: SymbolTable[] = [];
  const re = /__print_(symbolic|flags)\s*\(/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const open = m.index + m[0].length - 1;
    const end = closing(text, open);
    const args = splitArgs(text.slice(open + 1, end - 1));
    const kind = m[1] === "symbolic" ? "symbolic" : "flags";
    const value = valueExpr(args[0] ?? "");
    const field = value && format.fields.find((f) => f.name === value.field);
    if (!value || !field) continue;
    const width = BigInt(field.size * 8);
    const symbols = new Map<bigint, string>();
    for (const arg of args.slice(kind === "flags" ? 2 : 1)) {
      const pair = /^\{\s*(.+?)\s*,\s*(".*")\s*\}$/.exec(arg);
      const v = pair && evalConstant(pair[1]!);
      const name = pair && stringLiteral(pair[2]!);
      if (v !== undefined && v !== null && name !== undefined && name !== null) {
        symbols.set(BigInt.asUintN(Number(width), v), name);
      }
    }
    const when = conditionBefore(text, m.index, tables.at(-1));
    tables.push({ kind, field: value.field, mask: value.mask, when, symbols });
    re.lastIndex = end;
  }
  return tables;
}

/** A value's name and flag names, from the tables that apply to this record. */
export interface Symbolized {
  /** The value after the table's mask (e.g. the VMX basic exit reason). */
  value: bigint;
  /** Its name, or undefined when the kernel's table has none (a reason newer than the table cannot happen). */
  name: string | undefined;
  /** Names of the flags set (e.g. ["FAILED_VMENTRY"]). */
  flags: string[];
}

type FieldValues = Readonly<Record<string, unknown>>;

function applies(table: SymbolTable, field: string, values: FieldValues): boolean {
  if (table.field !== field) return false;
  if (!table.when) return true;
  const v = values[table.when.field];
  if (typeof v !== "number" && typeof v !== "bigint") return false;
  return (BigInt(v) === table.when.equals) !== table.when.negate;
}

/** Names `field` of a decoded record with the tables that apply to it; undefined when no table applies. */
export function symbolize(
  tables: readonly SymbolTable[],
  field: string,
  values: FieldValues,
): Symbolized | undefined {
  const raw = values[field];
  if (typeof raw !== "number" && typeof raw !== "bigint") return undefined;
  const v = BigInt(raw);
  let out: Symbolized | undefined;
  for (const t of tables) {
    if (!applies(t, field, values)) continue;
    const masked = t.mask === undefined ? v : v & t.mask;
    if (t.kind === "symbolic" && !out) out = { value: masked, name: t.symbols.get(masked), flags: [] };
    else if (t.kind === "flags") {
      out ??= { value: v, name: undefined, flags: [] };
      for (const [bit, name] of t.symbols) if (bit !== 0n && (masked & bit) === bit) out.flags.push(name);
    }
  }
  return out;
}

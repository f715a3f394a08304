/**
 * Parsers of the text files in which tracefs describes its binary layouts:
 * - an event's `events/<system>/<name>/format`: name, id, the common fields every record starts with, the
 *   event's own fields (C type, offset, size, signedness; fixed arrays `u8 insn[15]`, dynamic arrays
 *   `__data_loc char[] name` / `__rel_loc`, and a trailing `char buf[]`), and the `print fmt` line;
 * - `events/header_page`: where the page timestamp, the commit word and the data sit in a ring-buffer page.
 * Nothing here knows any particular event: records are decoded from these descriptions alone (decoder.ts).
 */
import { TracefsFormatError } from "./errors.ts";

/** How the bytes of a field are read. */
export type FieldKind =
  /** an integer of 1, 2, 4 or 8 bytes */
  | "int"
  /** a fixed-size array, e.g. `__u8 insn[15]` or `char comm[16]` */
  | "array"
  /** `__data_loc T[] name`: a u32 holding the data's offset in the record (low 16 bits) and length (high 16) */
  | "data_loc"
  /** `__rel_loc T[] name`: like data_loc, the offset counted from the end of this field */
  | "rel_loc"
  /** `char buf[]`: the rest of the record */
  | "rest";

export interface FieldFormat {
  name: string;
  /** The C type as written, without the field name and array brackets, e.g. "unsigned int", "__data_loc char". */
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  kind: FieldKind;
  /** For arrays and dynamic arrays: whether the elements are chars (decoded as a NUL-terminated string). */
  isString: boolean;
}

export interface EventFormat {
  /** The event's name, e.g. "kvm_exit". */
  name: string;
  /** The id the kernel writes in each record's common_type. */
  id: number;
  /** The `common_*` fields: type, flags, preempt count, pid. */
  common: FieldFormat[];
  /** The event's own fields, in file order. */
  fields: FieldFormat[];
  /** The `print fmt:` text: a C format string and its arguments, where symbol tables live. */
  printFmt: string;
}

const FIELD_LINE = /^\s*field:\s*(.+?);\s*offset:(\d+);\s*size:(\d+);\s*(?:signed:(\d+);)?/;

/** Parses one `field:...;` line's declaration and numbers. */
function parseField(decl: string, offset: number, size: number, signed: boolean): FieldFormat {
  const m = /^(.*?)\s*\b([A-Za-z_]\w*)\s*(\[(\d*)\])?$/.exec(decl.trim());
  if (!m) throw new TracefsFormatError(`cannot read field declaration "${decl}"`);
  const [, rawType, name, brackets, count] = m as unknown as [string, string, string, string?, string?];
  const type = rawType.trim();
  const element = type.replace(/^__(?:data|rel)_loc\s+/, "").replace(/\[\]$/, "");
  const isString = /^(?:unsigned\s+)?char$/.test(element);
  let kind: FieldKind = "int";
  if (type.startsWith("__data_loc")) kind = "data_loc";
  else if (type.startsWith("__rel_loc")) kind = "rel_loc";
  else if (brackets !== undefined) kind = count ? "array" : "rest";
  return { name, type: type.replace(/\[\]$/, ""), offset, size, signed, kind, isString };
}

/** Reads the `field:` lines of a format or header file, in order. */
export function parseFields(text: string): FieldFormat[] {
  const fields: FieldFormat[] = [];
  for (const line of text.split("\n")) {
    const m = FIELD_LINE.exec(line);
    if (!m) continue;
    fields.push(parseField(m[1]!, Number(m[2]), Number(m[3]), m[4] === "1"));
  }
  return fields;
}

/** Parses an event's `format` file. */
export function parseEventFormat(text: string): EventFormat {
  const name = /^name:\s*(\S+)/m.exec(text)?.[1];
  const id = /^ID:\s*(\d+)/m.exec(text)?.[1];
  const printFmt = /^print fmt:\s*(.*)$/m.exec(text)?.[1] ?? "";
  if (!name || !id) throw new TracefsFormatError("event format without name or ID");
  const all = parseFields(text);
  const odd = all.find((f) => f.kind === "int" && ![1, 2, 4, 8].includes(f.size));
  if (odd)
    throw new TracefsFormatError(`event ${name}: field ${odd.name} is an integer of ${odd.size} bytes`);
  const common = all.filter((f) => f.name.startsWith("common_"));
  const fields = all.filter((f) => !f.name.startsWith("common_"));
  if (!common.some((f) => f.name === "common_type" && f.kind === "int")) {
    throw new TracefsFormatError(`event ${name}: no common_type field`);
  }
  return { name, id: Number(id), common, fields, printFmt };
}

/** Where the parts of a ring-buffer page sit (from `events/header_page`). */
export interface PageLayout {
  timestampOffset: number;
  /** The commit word: the data length in its low bits, the lost-event flags above. */
  commitOffset: number;
  commitSize: number;
  dataOffset: number;
  /** Bytes of data a page can hold; a page is dataOffset + dataSize bytes. */
  dataSize: number;
}

export function parseHeaderPage(text: string): PageLayout {
  const fields = new Map(parseFields(text).map((f) => [f.name, f]));
  const ts = fields.get("timestamp");
  const commit = fields.get("commit");
  const data = fields.get("data");
  if (!ts || ts.size !== 8 || !commit || (commit.size !== 4 && commit.size !== 8) || !data) {
    throw new TracefsFormatError("header_page without an 8-byte timestamp, a commit word and data");
  }
  return {
    timestampOffset: ts.offset,
    commitOffset: commit.offset,
    commitSize: commit.size,
    dataOffset: data.offset,
    dataSize: data.size,
  };
}

/** The event-header encoding (from `events/header_event`). */
export interface EventHeaderLayout {
  typeLenBits: number;
  timeDeltaBits: number;
  padding: number;
  timeExtend: number;
  timeStamp: number;
  /** The largest type_len that still means "data of type_len x 4 bytes". */
  dataMaxTypeLen: number;
}

export function parseHeaderEvent(text: string): EventHeaderLayout {
  const num = (re: RegExp, what: string): number => {
    const m = re.exec(text);
    if (!m) throw new TracefsFormatError(`header_event without ${what}`);
    return Number(m[1]);
  };
  const layout = {
    typeLenBits: num(/type_len\s*:\s*(\d+)\s*bits/, "type_len"),
    timeDeltaBits: num(/time_delta\s*:\s*(\d+)\s*bits/, "time_delta"),
    padding: num(/padding\s*:\s*type\s*==\s*(\d+)/, "padding"),
    timeExtend: num(/time_extend\s*:\s*type\s*==\s*(\d+)/, "time_extend"),
    timeStamp: num(/time_stamp\s*:\s*type\s*==\s*(\d+)/, "time_stamp"),
    dataMaxTypeLen: num(/data max type_len\s*==\s*(\d+)/, "data max type_len"),
  };
  if (layout.typeLenBits + layout.timeDeltaBits !== 32) {
    throw new TracefsFormatError("header_event: type_len and time_delta do not fill 32 bits");
  }
  return layout;
}

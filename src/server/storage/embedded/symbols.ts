/**
 * The symbol table: every distinct label name and value stored once (`symbols` table), and a series' label set
 * stored as the varint ids of its pairs. A domain's uuid, host and instance strings are shared by its ~150
 * series, so a series row costs tens of bytes instead of its labels' full text (the Prometheus TSDB index
 * does the same).
 */
import type { Labels } from "../types.ts";

export class SymbolTable {
  private readonly ids = new Map<string, number>();
  private readonly texts: string[] = [];
  /** Persists a new symbol (called inside the append's transaction). */
  private readonly insert: (id: number, text: string) => void;

  constructor(insert: (id: number, text: string) => void) {
    this.insert = insert;
  }

  /** Registers a symbol read from the database. */
  load(id: number, text: string): void {
    this.ids.set(text, id);
    this.texts[id] = text;
  }

  /** The label set as varints [name id, value id]..., its pairs in the given order; new symbols are stored. */
  encode(labels: Labels): Uint8Array {
    const out: number[] = [];
    for (const name in labels) {
      varint(out, this.idOf(name));
      varint(out, this.idOf(labels[name]!));
    }
    return Uint8Array.from(out);
  }

  decode(bytes: Uint8Array): Labels {
    const out: Record<string, string> = {};
    let at = 0;
    const next = () => {
      let n = 0;
      let shift = 1;
      for (;;) {
        const b = bytes[at++];
        if (b === undefined) throw new RangeError("label set ends early");
        n += (b & 0x7f) * shift;
        if (b < 0x80) return n;
        shift *= 0x80;
      }
    };
    while (at < bytes.length) {
      const name = this.textOf(next());
      out[name] = this.textOf(next());
    }
    return out;
  }

  private idOf(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.texts.length;
      this.insert(id, text);
      this.load(id, text);
    }
    return id;
  }

  private textOf(id: number): string {
    const text = this.texts[id];
    if (text === undefined) throw new RangeError(`unknown symbol ${id}`);
    return text;
  }
}

function varint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

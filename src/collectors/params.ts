/**
 * Typed, forgiving access to a bulk-stats record. libvirt's typed parameters arrive as number (INT/UINT/DOUBLE),
 * bigint (LLONG/ULLONG), boolean or string; collectors want numbers in base units. A field that is absent or of
 * an unexpected type reads as undefined, so a libvirt that drops or renames a field gives "no value", not a
 * crash or a wrong zero.
 */
import type { DomainStatsRecord, TypedParamValue } from "../protocol/libvirt/types.ts";

export class StatsView {
  readonly record: DomainStatsRecord;
  constructor(record: DomainStatsRecord) {
    this.record = record;
  }

  has(field: string): boolean {
    return this.record.params.has(field);
  }

  raw(field: string): TypedParamValue | undefined {
    return this.record.params.get(field);
  }

  /** A numeric field as a number (bigint converted; 2^53 ns is 104 days of CPU time, so precision holds). */
  num(field: string): number | undefined {
    const v = this.record.params.get(field);
    if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
    if (typeof v === "bigint") return Number(v);
    return undefined;
  }

  /** A numeric field multiplied by `factor`, e.g. KiB to bytes with KIB. */
  scaled(field: string, factor: number): number | undefined {
    const v = this.num(field);
    return v === undefined ? undefined : v * factor;
  }

  /** A nanosecond field in seconds. Divides (not × 1e-9) so 3732115000 ns prints as 3.732115, not 3.7321150000000003. */
  seconds(field: string): number | undefined {
    const v = this.num(field);
    return v === undefined ? undefined : v / NS_PER_SECOND;
  }

  str(field: string): string | undefined {
    const v = this.record.params.get(field);
    return typeof v === "string" ? v : undefined;
  }

  /** Booleans arrive as BOOLEAN params or as numbers 0/1 depending on the field. */
  bool(field: string): boolean | undefined {
    const v = this.record.params.get(field);
    if (typeof v === "boolean") return v;
    if (typeof v === "number") return v !== 0;
    if (typeof v === "bigint") return v !== 0n;
    return undefined;
  }

  /** The `<prefix>.count` of an indexed group (block, net), 0 when absent. */
  count(prefix: string): number {
    const n = this.num(`${prefix}.count`);
    return n !== undefined && Number.isInteger(n) && n > 0 ? n : 0;
  }

  /** Every field name starting with `prefix` (e.g. "vcpu.0."), with the prefix removed. */
  *fieldsUnder(prefix: string): IterableIterator<[string, TypedParamValue]> {
    for (const [field, value] of this.record.params) {
      if (field.startsWith(prefix)) yield [field.slice(prefix.length), value];
    }
  }
}

export const NS_PER_SECOND = 1e9;
export const KIB = 1024;

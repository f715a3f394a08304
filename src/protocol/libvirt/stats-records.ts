/**
 * The CONNECT_GET_ALL_DOMAIN_STATS record list, decoded straight into DomainStatsRecord with a Map. Kept apart
 * from the data-only procedures.ts because it holds state: the field-name cache shared across replies.
 */
import type { XdrReader } from "../xdr/reader.ts";
import type { Codec } from "../xdr/schema.ts";
import { FieldNameCache, readTypedParamsMap, typedParams } from "./typed-params.ts";
import type { DomainStatsRecord, TypedParamValue } from "./types.ts";
import { DOMAIN_LIST_MAX, domain } from "./wire.ts";

/** Field names of bulk stats records, kept across replies (decoding is synchronous, so one is enough). */
const statsFieldNames = new FieldNameCache();

/** remote_domain_stats_record<DOMAIN_LIST_MAX>. */
export const domainStatsRecords: Codec<DomainStatsRecord[]> = {
  minSize: 4,
  encode(w, records) {
    // Only mock servers in tests encode this; typed values go back out with their inferred wire types.
    w.uint(records.length);
    for (const rec of records) {
      domain.encode(w, rec.domain);
      typedParams().encode(
        w,
        [...rec.params].map(([field, value]) => ({ field, ...inferType(value) })),
      );
    }
  },
  decode(r: XdrReader) {
    const n = r.length(DOMAIN_LIST_MAX, domain.minSize + 4);
    const out: DomainStatsRecord[] = [];
    for (let i = 0; i < n; i++) {
      const d = domain.decode(r);
      const params = new Map<string, TypedParamValue>();
      readTypedParamsMap(r, params, undefined, statsFieldNames);
      out.push({ domain: d, params });
    }
    return out;
  },
};

/** Wire type for a JS value when re-encoding stats (bigint → ULLONG, integer → UINT/INT, else DOUBLE). */
function inferType(v: TypedParamValue): { type: 1 | 2 | 3 | 4 | 5 | 6 | 7; value: TypedParamValue } {
  if (typeof v === "bigint") return { type: v < 0n ? 3 : 4, value: v };
  if (typeof v === "boolean") return { type: 6, value: v };
  if (typeof v === "string") return { type: 7, value: v };
  if (Number.isInteger(v)) return { type: v < 0 ? 1 : 2, value: v };
  return { type: 5, value: v };
}

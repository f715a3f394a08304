/** The Prometheus API's JSON shapes: sample values as strings (Go's shortest decimal form), times as seconds. */
import type { QueryResult } from "../promql/engine.ts";
import { formatValue } from "../promql/values.ts";
import type { Labels } from "../storage/types.ts";

/** A timestamp as the API writes it: unix seconds, a number with up to millisecond decimals. */
export const seconds = (ms: number): number => ms / 1000;

type Point = [number, string];

export interface VectorEntry {
  readonly metric: Labels;
  readonly value: Point;
}

export interface MatrixEntry {
  readonly metric: Labels;
  readonly values: Point[];
}

/** `data` of /query and /query_range. */
export function resultJson(r: QueryResult): {
  resultType: QueryResult["resultType"];
  result: Point | VectorEntry[] | MatrixEntry[];
} {
  switch (r.resultType) {
    case "scalar":
      return { resultType: r.resultType, result: [seconds(r.t), formatValue(r.v)] };
    case "string":
      return { resultType: r.resultType, result: [seconds(r.t), r.value] };
    case "vector":
      return {
        resultType: r.resultType,
        result: r.samples.map((s): VectorEntry => ({
          metric: s.labels,
          value: [seconds(r.t), formatValue(s.v)],
        })),
      };
    case "matrix":
      return {
        resultType: r.resultType,
        result: r.series.map((s) => ({
          metric: s.labels,
          values: s.samples.map((p): Point => [seconds(p.t), formatValue(p.v)]),
        })),
      };
  }
}

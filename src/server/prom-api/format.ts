/** The Prometheus API's JSON shapes: sample values as strings (Go's shortest decimal form), times as seconds. */
import type { QueryResult } from "../promql/engine.ts";
import type { Labels } from "../storage/types.ts";

/** A value as Prometheus writes it (strconv.FormatFloat(v, 'f', -1, 64)): no exponent, `NaN`, `+Inf`, `-Inf`. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const s = String(v);
  const e = s.indexOf("e");
  if (e < 0) return s;
  // Spell out the exponent: the shortest digits JavaScript chose, with the point moved.
  const negative = s.startsWith("-");
  const mantissa = s.slice(negative ? 1 : 0, e);
  const exponent = Number(s.slice(e + 1));
  const [whole = "", fraction = ""] = mantissa.split(".");
  const digits = whole + fraction;
  const point = whole.length + exponent;
  const body =
    point <= 0
      ? `0.${"0".repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + "0".repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${body}` : body;
}

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

/** The values an expression evaluates to at one time, and how a sample value is written as text. */
import type { Labels, Series } from "../storage/types.ts";

/** One series' value at the evaluation time; `t` is the sample's own time where a selector read it. */
export interface InstantSample {
  readonly labels: Labels;
  readonly v: number;
  readonly t?: number;
}

export type Value =
  | { readonly type: "scalar"; readonly v: number }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "vector"; readonly samples: readonly InstantSample[] }
  | { readonly type: "matrix"; readonly series: readonly Series[] };

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

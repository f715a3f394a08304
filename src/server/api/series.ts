/**
 * GET /api/v1/series/range: one metric's series over a time range, bucketed by step with an aggregation
 * (avg, max, min, sum, last), answered by the SeriesStore (embedded or Prometheus-compatible), which may use a
 * rollup for avg and max over long ranges (it gets the step and the function as hints).
 */
import { z } from "zod";
import type { Matcher, Series, SeriesStore } from "../storage/types.ts";
import { BadRequestError } from "./errors.ts";

/** Points one series may have (as Prometheus' query_range limits them). */
export const MAX_POINTS = 11_000;
const AGGREGATIONS = ["avg", "max", "min", "sum", "last"] as const;
const MATCHER = /^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)(.*)$/s;

const time = z.union([
  z.coerce.number().finite(),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s) / 1000),
]);
const matcherText = z
  .string()
  .regex(MATCHER, "must be label=value, label!=value, label=~regex or label!~regex");

export const seriesRangeQuery = z
  .object({
    metric: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, "must be a metric name"),
    match: z.union([matcherText, z.array(matcherText).max(32)]).optional(),
    start: time.optional().describe("epoch seconds or RFC 3339; default end - 1 h"),
    end: time.optional().describe("epoch seconds or RFC 3339; default now"),
    step: z.coerce
      .number()
      .positive()
      .max(86400 * 31)
      .optional()
      .describe("seconds; default range / 250"),
    agg: z.enum(AGGREGATIONS).default("avg"),
  })
  .strict();

export type SeriesRangeQuery = z.infer<typeof seriesRangeQuery>;

export interface RangeAnswer {
  metric: string;
  start: number;
  end: number;
  step: number;
  agg: (typeof AGGREGATIONS)[number];
  series: Array<{ labels: Record<string, string>; points: Array<[number, number]> }>;
}

function matchers(q: SeriesRangeQuery): Matcher[] {
  const out: Matcher[] = [{ name: "__name__", op: "=", value: q.metric }];
  for (const text of [q.match ?? []].flat()) {
    const [, name, op, value] = MATCHER.exec(text)!;
    if (op === "=~" || op === "!~") {
      try {
        new RegExp(value!);
      } catch (e) {
        throw new BadRequestError(`match: '${value}' is not a regular expression`, { cause: e });
      }
    }
    out.push({ name: name!, op: op as Matcher["op"], value: value! });
  }
  return out;
}

function bucket(
  s: Series,
  startMs: number,
  stepMs: number,
  agg: RangeAnswer["agg"],
): Array<[number, number]> {
  const groups = new Map<number, number[]>();
  for (const x of s.samples) {
    const b = startMs + Math.floor((x.t - startMs) / stepMs) * stepMs;
    const g = groups.get(b) ?? [];
    groups.set(b, g);
    g.push(x.v);
  }
  const combine = {
    avg: (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length,
    sum: (v: number[]) => v.reduce((a, b) => a + b, 0),
    max: (v: number[]) => Math.max(...v),
    min: (v: number[]) => Math.min(...v),
    last: (v: number[]) => v[v.length - 1]!,
  }[agg];
  return [...groups].map(([t, v]) => [t / 1000, combine(v)]);
}

export async function seriesRange(
  store: SeriesStore,
  q: SeriesRangeQuery,
  nowMs: number,
): Promise<RangeAnswer> {
  const end = q.end ?? nowMs / 1000;
  const start = q.start ?? end - 3600;
  if (start > end) throw new BadRequestError("start: is after end");
  const step = q.step ?? Math.max(1, Math.ceil((end - start) / 250));
  if ((end - start) / step > MAX_POINTS)
    throw new BadRequestError(
      `step: ${step} s gives more than ${MAX_POINTS} points over the range; make it larger`,
    );
  const startMs = Math.round(start * 1000);
  const stepMs = Math.round(step * 1000);
  const found = await store.select(
    matchers(q),
    { startMs, endMs: Math.round(end * 1000) },
    { stepMs, func: `${q.agg === "last" ? "last" : q.agg}_over_time`, rollups: true },
  );
  return {
    metric: q.metric,
    start,
    end,
    step,
    agg: q.agg,
    series: found.map((s) => ({ labels: { ...s.labels }, points: bucket(s, startMs, stepMs, q.agg) })),
  };
}

/**
 * Request parameters of the Prometheus HTTP API: read from the query string and, for POST, from an
 * application/x-www-form-urlencoded body (Grafana sends either); times as RFC 3339 or unix seconds, durations as
 * `5m` or seconds, as Prometheus parses them.
 */
import type { Context } from "hono";
import { parseDurationOrSeconds } from "../promql/duration.ts";
import { PromqlBadParamError } from "../promql/errors.ts";

/** Every value of every parameter, query string first, then the form body. */
export type Params = ReadonlyMap<string, readonly string[]>;

export async function readParams(c: Context): Promise<Params> {
  const out = new Map<string, string[]>();
  const add = (k: string, v: string): void => {
    const list = out.get(k);
    if (list === undefined) out.set(k, [v]);
    else list.push(v);
  };
  for (const [k, v] of new URL(c.req.url).searchParams) add(k, v);
  const type = c.req.header("content-type") ?? "";
  if (c.req.method === "POST" && type.startsWith("application/x-www-form-urlencoded")) {
    for (const [k, v] of new URLSearchParams(await c.req.text())) add(k, v);
  }
  return out;
}

export function param(params: Params, name: string): string | undefined {
  return params.get(name)?.[0];
}

/** Milliseconds of a time parameter: unix seconds (`1700000000.5`) or RFC 3339; `fallback` when absent. */
export function timeParam(params: Params, name: string, fallback: number): number {
  const text = param(params, name);
  if (text === undefined || text === "") return fallback;
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new PromqlBadParamError(`invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`);
}

/** Milliseconds of a duration parameter, or undefined when absent. */
export function durationParam(params: Params, name: string): number | undefined {
  const text = param(params, name);
  if (text === undefined || text === "") return undefined;
  const ms = parseDurationOrSeconds(text);
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new PromqlBadParamError(`invalid parameter "${name}": cannot parse "${text}" to a valid duration`);
  }
  return ms;
}

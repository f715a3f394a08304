/**
 * The Prometheus-compatible query API, so Grafana (and anything else that speaks to Prometheus) can use kvmon as
 * a Prometheus data source: exactly the endpoints Grafana's data source calls, GET and form-encoded POST, the
 * Prometheus JSON envelope (`status`, `data`, `errorType`, `error`, `warnings`). Paths are absolute
 * (`/api/v1/query`, ...): mount with `app.route("/", promApiRoutes(...))`.
 */
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { MetricSpec } from "../../metrics/catalog.ts";
import { KvmonError, TimeoutError } from "../../shared/errors.ts";
import { Engine, type EngineOptions, type QueryOptions } from "../promql/engine.ts";
import {
  PromqlBadParamError,
  PromqlExecutionError,
  PromqlLimitError,
  PromqlParseError,
} from "../promql/errors.ts";
import { labelsKey } from "../promql/labels.ts";
import { parseSelector } from "../promql/parse.ts";
import type { Labels, Matcher, SeriesStore, TimeRange } from "../storage/types.ts";
import { resultJson } from "./format.ts";
import { durationParam, param, type Params, readParams, timeParam } from "./params.ts";

export interface PromApiDeps {
  readonly store: SeriesStore;
  /** The current time in ms (the default `time` of an instant query). */
  readonly now?: () => number;
  /** Families served by /metadata (help and type): the agent's metric catalog. */
  readonly catalog?: readonly MetricSpec[];
  readonly engine?: EngineOptions;
  /** kvmon's version, reported in buildinfo's `revision`. */
  readonly version?: string;
}

/**
 * The Prometheus version whose API kvmon answers like, reported by buildinfo as VictoriaMetrics does, since
 * Grafana enables query-editor features by that version.
 */
export const PROMETHEUS_API_VERSION = "2.42.0";

/** Start and end when a metadata request gives none: all time, as Prometheus defaults (years 1 to 9999). */
const ALL_TIME: TimeRange = { startMs: -62_135_596_800_000, endMs: 253_402_300_799_000 };

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type ErrorType = "bad_data" | "execution" | "timeout" | "internal" | "unavailable";

/** Prometheus' errorType and HTTP status for an error. */
function classify(e: unknown): [ErrorType, ContentfulStatusCode] {
  if (e instanceof PromqlParseError || e instanceof PromqlBadParamError) return ["bad_data", 400];
  if (e instanceof PromqlLimitError || e instanceof PromqlExecutionError) return ["execution", 422];
  if (e instanceof TimeoutError) return ["timeout", 503];
  if (e instanceof KvmonError) return ["unavailable", 503];
  return ["internal", 500];
}

export function promApiRoutes(deps: PromApiDeps): Hono {
  const now = deps.now ?? Date.now;
  const engine = new Engine(deps.store, deps.engine);
  const app = new Hono();

  /** GET and POST of one endpoint; the handler returns `data` (and warnings), errors become the error envelope. */
  const endpoint = (path: string, handler: (p: Params, c: Context) => Promise<unknown>): void => {
    const run = async (c: Context): Promise<Response> => {
      try {
        const data = await handler(await readParams(c), c);
        return c.json({ status: "success", data });
      } catch (e) {
        const [errorType, status] = classify(e);
        return c.json(
          { status: "error", errorType, error: e instanceof Error ? e.message : String(e) },
          status,
        );
      }
    };
    app.get(path, run);
    app.post(path, run);
  };

  /** The query's `timeout` parameter (the engine keeps the shorter of it and its own), and the client's abort. */
  const queryOptions = (p: Params, c: Context): QueryOptions => {
    const timeoutMs = durationParam(p, "timeout");
    return { signal: c.req.raw.signal, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
  };

  endpoint("/api/v1/query", async (p, c) => {
    const query = required(p, "query");
    const r = await engine.instant(query, timeParam(p, "time", now()), queryOptions(p, c));
    return resultJson(r);
  });

  endpoint("/api/v1/query_range", async (p, c) => {
    const query = required(p, "query");
    const start = timeParam(p, "start", NaN);
    const end = timeParam(p, "end", NaN);
    if (Number.isNaN(start)) throw new PromqlBadParamError('invalid parameter "start": missing');
    if (Number.isNaN(end)) throw new PromqlBadParamError('invalid parameter "end": missing');
    const step = durationParam(p, "step");
    if (step === undefined) throw new PromqlBadParamError('invalid parameter "step": missing');
    return resultJson(await engine.range(query, start, end, step, queryOptions(p, c)));
  });

  // Grafana asks for exemplars when a panel has them enabled; kvmon stores none.
  endpoint("/api/v1/query_exemplars", () => Promise.resolve([]));

  endpoint("/api/v1/labels", async (p) => {
    const range = rangeOf(p);
    const names = new Set<string>();
    for (const matchers of selectors(p, false)) {
      for (const n of await deps.store.labelNames(matchers, range)) names.add(n);
    }
    return [...names].sort();
  });

  endpoint("/api/v1/label/:name/values", async (p, c) => {
    const name = c.req.param("name") ?? "";
    if (!LABEL_NAME.test(name)) throw new PromqlBadParamError(`invalid label name: "${name}"`);
    const range = rangeOf(p);
    const values = new Set<string>();
    for (const matchers of selectors(p, false)) {
      for (const v of await deps.store.labelValues(name, matchers, range)) values.add(v);
    }
    return [...values].sort();
  });

  endpoint("/api/v1/series", async (p) => {
    const range = rangeOf(p);
    const limit = limitOf(p);
    const seen = new Map<string, Labels>();
    for (const matchers of selectors(p, true)) {
      for (const labels of await deps.store.series(matchers, range)) seen.set(labelsKey(labels), labels);
    }
    const all = [...seen.values()];
    return limit === undefined ? all : all.slice(0, limit);
  });

  endpoint("/api/v1/metadata", (p) => {
    const metric = param(p, "metric");
    const limit = limitOf(p);
    const out: Record<string, { type: string; help: string; unit: string }[]> = {};
    for (const spec of deps.catalog ?? []) {
      if (metric !== undefined && metric !== "" && spec.name !== metric) continue;
      if (limit !== undefined && Object.keys(out).length >= limit) break;
      out[spec.name] = [{ type: spec.type, help: spec.help, unit: "" }];
    }
    return Promise.resolve(out);
  });

  endpoint("/api/v1/status/buildinfo", () =>
    Promise.resolve({
      version: PROMETHEUS_API_VERSION,
      revision: `kvmon-${deps.version ?? "dev"}`,
      branch: "kvmon",
      buildUser: "kvmon",
      buildDate: "",
      goVersion: "",
    }),
  );

  return app;
}

function required(p: Params, name: string): string {
  const v = param(p, name);
  if (v === undefined || v === "") throw new PromqlBadParamError(`invalid parameter "${name}": missing`);
  return v;
}

function rangeOf(p: Params): TimeRange {
  const range = {
    startMs: timeParam(p, "start", ALL_TIME.startMs),
    endMs: timeParam(p, "end", ALL_TIME.endMs),
  };
  if (range.endMs < range.startMs)
    throw new PromqlBadParamError("end timestamp must not be before start time");
  return range;
}

/** The `match[]` selectors; with none, one empty matcher list (all series) unless `needed`. */
function selectors(p: Params, needed: boolean): Matcher[][] {
  const texts = p.get("match[]") ?? [];
  if (texts.length === 0) {
    if (needed) throw new PromqlBadParamError("no match[] parameter provided");
    return [[]];
  }
  return texts.map((t) => parseSelector(t));
}

function limitOf(p: Params): number | undefined {
  const text = param(p, "limit");
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new PromqlBadParamError(`invalid parameter "limit": "${text}"`);
  return n === 0 ? undefined : n;
}

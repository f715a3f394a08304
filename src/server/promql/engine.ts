/**
 * Evaluates kvmon's PromQL subset over a SeriesStore with Prometheus' semantics (v2.42, the version the
 * integration test runs as the witness): a 5-minute lookback for instant vectors (a sample older than that is
 * absent), closed ranges `[t - range, t]`, `offset`, and a range query evaluated at start, start + step, ...
 * <= end. Staleness markers are not recognised: V8 does not keep a NaN's bit pattern through arrays of numbers,
 * so a stored NaN is a value (kvmon's agents never send markers: they are not scrapers that lose targets).
 *
 * Two phases: first every selector's samples for the whole query are read from the store (one `select` per
 * selector, with SelectHints so the store can answer from a rollup), then the expression is evaluated at each
 * step over those samples. Limits: series read per query, points per series, and a deadline.
 */
import { TimeoutError } from "../../shared/errors.ts";
import type { Labels, Sample, Series, SeriesStore, TimeRange } from "../storage/types.ts";
import type {
  Aggregate,
  AtModifier,
  Binary,
  Call,
  Expr,
  MatrixSelector,
  Subquery,
  ValueType,
  VectorSelector,
} from "./ast.ts";
import { PromqlBadParamError, PromqlExecutionError, PromqlLimitError } from "./errors.ts";
import { aggregate } from "./aggregate.ts";
import { FUNCTIONS, type Window } from "./functions.ts";
import { absentLabels, labelJoin, labelReplace } from "./label-functions.ts";
import { compareLabels, dropName, keepLabels, labelsKey, withoutLabels } from "./labels.ts";
import { isComparison, parseQuery, typeOf } from "./parse.ts";
import type { InstantSample, Value } from "./values.ts";

export interface EngineOptions {
  /** How far back an instant vector looks for a sample (Prometheus' `--query.lookback-delta`, 5 min). */
  readonly lookbackMs?: number;
  /** Series one query may read from the store, over all its selectors. */
  readonly maxSeries?: number;
  /** Samples one query may hold in memory (Prometheus' --query.max-samples, 50 million). */
  readonly maxSamples?: number;
  /** Steps of a range query (Prometheus refuses more than 11 000 points per series). */
  readonly maxPoints?: number;
  /** Deadline of one query. */
  readonly timeoutMs?: number;
}

/** Per query: a caller's cancellation (e.g. the HTTP client went away) and a shorter deadline than the engine's. */
export interface QueryOptions {
  readonly signal?: AbortSignal;
  /** Used when shorter than the engine's `timeoutMs`. */
  readonly timeoutMs?: number;
}

export type { InstantSample } from "./values.ts";

export type QueryResult =
  | { readonly resultType: "scalar"; readonly t: number; readonly v: number }
  | { readonly resultType: "string"; readonly t: number; readonly value: string }
  | { readonly resultType: "vector"; readonly t: number; readonly samples: readonly InstantSample[] }
  | { readonly resultType: "matrix"; readonly series: readonly Series[] };

const DEFAULTS: Required<EngineOptions> = {
  lookbackMs: 5 * 60_000,
  maxSeries: 50_000,
  maxSamples: 50_000_000,
  maxPoints: 11_000,
  timeoutMs: 2 * 60_000,
};

export class Engine {
  readonly #store: SeriesStore;
  readonly #opts: Required<EngineOptions>;

  constructor(store: SeriesStore, options: EngineOptions = {}) {
    this.#store = store;
    this.#opts = { ...DEFAULTS, ...options };
  }

  /** The query's value at `timeMs`. A range-vector query (`x[5m]`) returns its raw samples as a matrix. */
  async instant(query: string, timeMs: number, options: QueryOptions = {}): Promise<QueryResult> {
    const expr = parseQuery(query);
    const run = await this.#prepare(expr, timeMs, timeMs, 0, options);
    const value = run.evalAt(expr, timeMs);
    switch (value.type) {
      case "scalar":
        return { resultType: "scalar", t: timeMs, v: value.v };
      case "string":
        return { resultType: "string", t: timeMs, value: value.value };
      case "vector":
        // Only labels and value: a selector's own sample time stays inside the engine (timestamp() reads it).
        return {
          resultType: "vector",
          t: timeMs,
          samples: value.samples.map(({ labels, v }) => ({ labels, v })),
        };
      case "matrix":
        return {
          resultType: "matrix",
          series: [...value.series].sort((a, b) => compareLabels(a.labels, b.labels)),
        };
    }
  }

  /** The query evaluated at start, start + step, ... <= end: one series per label set, sorted by labels. */
  async range(
    query: string,
    startMs: number,
    endMs: number,
    stepMs: number,
    options: QueryOptions = {},
  ): Promise<QueryResult> {
    if (endMs < startMs) throw new PromqlBadParamError("end timestamp must not be before start time");
    if (!(stepMs > 0)) {
      throw new PromqlBadParamError(
        "zero or negative query resolution step widths are not accepted. Try a positive integer",
      );
    }
    if ((endMs - startMs) / stepMs + 1 > this.#opts.maxPoints) {
      throw new PromqlBadParamError(
        `exceeded maximum resolution of ${this.#opts.maxPoints.toLocaleString("en-US")} points per timeseries. Try decreasing the query resolution (?step=XX)`,
      );
    }
    const expr = parseQuery(query);
    const type: ValueType = typeOf(query, expr);
    if (type !== "scalar" && type !== "vector") {
      throw new PromqlBadParamError(
        `invalid expression type "${type === "matrix" ? "range vector" : type}" for range query, must be Scalar or instant Vector`,
      );
    }
    const run = await this.#prepare(expr, startMs, endMs, stepMs, options);
    const out = new Map<string, { labels: Labels; samples: Sample[] }>();
    for (let t = startMs; t <= endMs; t += stepMs) {
      run.checkDeadline();
      const value = run.evalAt(expr, t);
      const samples =
        value.type === "scalar" ? [{ labels: {}, v: value.v }] : value.type === "vector" ? value.samples : [];
      for (const s of samples) {
        const key = labelsKey(s.labels);
        let series = out.get(key);
        if (series === undefined) out.set(key, (series = { labels: s.labels, samples: [] }));
        series.samples.push({ t, v: s.v });
      }
    }
    const series = [...out.values()].sort((a, b) => compareLabels(a.labels, b.labels));
    return { resultType: "matrix", series };
  }

  /** Reads every selector's samples for the whole query window, within the series limit and the deadline. */
  async #prepare(
    expr: Expr,
    startMs: number,
    endMs: number,
    stepMs: number,
    { signal, timeoutMs }: QueryOptions,
  ): Promise<Run> {
    const limitMs = Math.min(timeoutMs ?? Infinity, this.#opts.timeoutMs);
    const deadline = AbortSignal.timeout(limitMs);
    const abort = signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
    const run = new Run(this.#opts, abort, limitMs, { startMs, endMs });
    let seriesRead = 0;
    let samplesRead = 0;
    for (const { selector, rangeMs, func, evaluated } of selectorsOf(
      expr,
      { startMs, endMs, stepMs },
      { startMs, endMs },
    )) {
      run.checkDeadline();
      const lookback = rangeMs ?? this.#opts.lookbackMs;
      const range = {
        startMs: evaluated.startMs - selector.offsetMs - lookback,
        endMs: evaluated.endMs - selector.offsetMs,
      };
      const hints = { stepMs: evaluated.stepMs, ...(func === undefined ? {} : { func }) };
      const series = await run.untilDeadline(this.#store.select(selector.matchers, range, hints));
      seriesRead += series.length;
      if (seriesRead > this.#opts.maxSeries) {
        throw new PromqlLimitError(
          `query reads more than ${this.#opts.maxSeries} series`,
          "narrow the selectors' label matchers",
        );
      }
      for (const x of series) samplesRead += x.samples.length;
      if (samplesRead > this.#opts.maxSamples) {
        throw new PromqlLimitError(
          "query processing would load too many samples into memory in query execution",
          "shorten the range, narrow the selectors, or use a longer step (a store may then answer from rollups)",
        );
      }
      run.select(selector, series);
    }
    return run;
  }
}

/** Prometheus' default evaluation interval: the step of a subquery that names none (`x[1h:]`). */
export const DEFAULT_SUBQUERY_STEP_MS = 60_000;

/** The times an expression is evaluated at: from startMs to endMs, every stepMs (0: once). */
interface EvalSpan {
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
}

interface SelectorUse {
  readonly selector: VectorSelector;
  /** A range vector's range; undefined for an instant vector (which looks back by the lookback delta). */
  readonly rangeMs?: number;
  /** The function the range vector feeds, for SelectHints. */
  readonly func?: string;
  /** When the selector is evaluated: the query's times, or a subquery's. */
  readonly evaluated: EvalSpan;
}

/** Where `@` puts an evaluation: the modifier's time, or the query's start or end; no modifier: `t` itself. */
function fixedTime(at: AtModifier | undefined, t: number, query: TimeRange): number {
  if (at === undefined) return t;
  if (at === "start") return query.startMs;
  if (at === "end") return query.endMs;
  return at.ms;
}

/** The span of an expression fixed by `@`: that one time. */
function fixedSpan(at: AtModifier | undefined, span: EvalSpan, query: TimeRange): EvalSpan {
  if (at === undefined) return span;
  const t = fixedTime(at, 0, query);
  return { startMs: t, endMs: t, stepMs: 0 };
}

function selectorsOf(e: Expr, span: EvalSpan, query: TimeRange): SelectorUse[] {
  switch (e.kind) {
    case "number":
    case "string":
      return [];
    case "vectorSelector":
      return [{ selector: e, evaluated: fixedSpan(e.at, span, query) }];
    case "matrixSelector":
      return [{ selector: e.selector, rangeMs: e.rangeMs, evaluated: fixedSpan(e.selector.at, span, query) }];
    case "subquery": {
      const outer = fixedSpan(e.at, span, query);
      return selectorsOf(
        e.expr,
        {
          startMs: outer.startMs - e.offsetMs - e.rangeMs,
          endMs: outer.endMs - e.offsetMs,
          stepMs: subqueryStep(e),
        },
        query,
      );
    }
    case "call":
      return e.args.flatMap((a): SelectorUse[] => {
        if (a.kind === "matrixSelector") {
          const evaluated = fixedSpan(a.selector.at, span, query);
          return [{ selector: a.selector, rangeMs: a.rangeMs, func: e.func, evaluated }];
        }
        // timestamp() reads the samples' own times: a store must not answer it from a rollup's bucket ends.
        if (a.kind === "vectorSelector" && e.func === "timestamp") {
          return [{ selector: a, func: e.func, evaluated: fixedSpan(a.at, span, query) }];
        }
        return selectorsOf(a, span, query);
      });
    case "aggregate":
      return [
        ...(e.param === undefined ? [] : selectorsOf(e.param, span, query)),
        ...selectorsOf(e.expr, span, query),
      ];
    case "binary":
      return [...selectorsOf(e.lhs, span, query), ...selectorsOf(e.rhs, span, query)];
    case "unary":
      return selectorsOf(e.expr, span, query);
  }
}

const subqueryStep = (e: Subquery): number => (e.stepMs > 0 ? e.stepMs : DEFAULT_SUBQUERY_STEP_MS);

/** A selector's series, and per series where the last step's window started and ended (sample indexes). */
interface Selected {
  readonly series: readonly Series[];
  readonly start: Int32Array;
  readonly end: Int32Array;
}

/** One query's evaluation: the selected samples, the deadline, and evaluation at one time. */
class Run {
  readonly #data = new Map<VectorSelector, Selected>();
  /** Each subquery's inner vectors by evaluation time: overlapping windows of later steps reuse them. */
  readonly #subqueryResults = new Map<Subquery, Map<number, readonly InstantSample[]>>();
  readonly #opts: Required<EngineOptions>;
  readonly #abort: AbortSignal;
  readonly #timeoutMs: number;

  /** The query's start and end, where `@ start()` and `@ end()` point. */
  readonly #query: TimeRange;

  constructor(opts: Required<EngineOptions>, abort: AbortSignal, timeoutMs: number, query: TimeRange) {
    this.#opts = opts;
    this.#query = query;
    this.#abort = abort;
    this.#timeoutMs = timeoutMs;
  }

  /** Keeps a selector's series for the evaluation, with cursors at their start. */
  select(selector: VectorSelector, series: readonly Series[]): void {
    this.#data.set(selector, {
      series,
      start: new Int32Array(series.length).fill(-1),
      end: new Int32Array(series.length).fill(-1),
    });
  }

  checkDeadline(): void {
    if (!this.#abort.aborted) return;
    const reason: unknown = this.#abort.reason;
    if (reason instanceof DOMException && reason.name === "TimeoutError") {
      throw new TimeoutError("query evaluation", this.#timeoutMs, { cause: reason });
    }
    throw new TimeoutError("query evaluation (cancelled by the caller)", this.#timeoutMs, { cause: reason });
  }

  /** Waits for `work`, or throws TimeoutError when the query's deadline passes first. */
  untilDeadline<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        try {
          this.checkDeadline();
        } catch (e) {
          reject(e as Error);
        }
      };
      if (this.#abort.aborted) {
        work.catch(() => undefined); // its outcome no longer matters
        onAbort();
        return;
      }
      this.#abort.addEventListener("abort", onAbort, { once: true });
      work.then(resolve, reject).finally(() => this.#abort.removeEventListener("abort", onAbort));
    });
  }

  evalAt(e: Expr, t: number): Value {
    switch (e.kind) {
      case "number":
        return { type: "scalar", v: e.value };
      case "string":
        return { type: "string", value: e.value };
      case "vectorSelector":
        return { type: "vector", samples: this.#instantVector(e, t) };
      case "matrixSelector":
      case "subquery":
        return {
          type: "matrix",
          series: this.#windows(e, t).map((w) => ({ labels: w.labels, samples: w.samples })),
        };
      case "call":
        return this.#call(e, t);
      case "aggregate":
        return { type: "vector", samples: this.#aggregate(e, t) };
      case "binary":
        return this.#binary(e, t);
      case "unary": {
        const v = this.evalAt(e.expr, t);
        if (e.op === "+") return v;
        if (v.type === "scalar") return { type: "scalar", v: -v.v };
        return checked({
          type: "vector",
          samples: this.#vector(v).map((s) => ({ labels: dropName(s.labels), v: -s.v })),
        });
      }
    }
  }

  #vector(v: Value): readonly InstantSample[] {
    if (v.type !== "vector") throw new PromqlExecutionError(`expected an instant vector, got ${v.type}`);
    return v.samples;
  }

  #scalar(v: Value): number {
    if (v.type !== "scalar") throw new PromqlExecutionError(`expected a scalar, got ${v.type}`);
    return v.v;
  }

  /** Each series' newest sample in `[t - offset - lookback, t - offset]`. */
  #instantVector(sel: VectorSelector, t: number): InstantSample[] {
    const ref = fixedTime(sel.at, t, this.#query) - sel.offsetMs;
    const out: InstantSample[] = [];
    const selected = this.#data.get(sel);
    selected?.series.forEach((series, k) => {
      const i = (selected.end[k] = seek(series.samples, ref, selected.end[k] as number));
      const s = series.samples[i];
      if (s !== undefined && s.t >= ref - this.#opts.lookbackMs)
        out.push({ labels: series.labels, v: s.v, t: s.t });
    });
    return out;
  }

  /** Each series' samples in `[t - offset - range, t - offset]`; empty windows too. */
  #rangeVector(m: MatrixSelector, at: number): (Window & { labels: Labels })[] {
    const t = fixedTime(m.selector.at, at, this.#query);
    const endMs = t - m.selector.offsetMs;
    const startMs = endMs - m.rangeMs;
    const selected = this.#data.get(m.selector);
    if (selected === undefined) return [];
    return selected.series.map((series, k) => {
      const from = (selected.start[k] = seek(series.samples, startMs - 1, selected.start[k] as number)) + 1;
      const to = (selected.end[k] = seek(series.samples, endMs, selected.end[k] as number)) + 1;
      const samples = series.samples.slice(from, to);
      return { labels: series.labels, startMs, endMs, rangeMs: m.rangeMs, evalMs: t, samples };
    });
  }

  #windows(e: MatrixSelector | Subquery, t: number): (Window & { labels: Labels })[] {
    return e.kind === "matrixSelector" ? this.#rangeVector(e, t) : this.#subqueryWindows(e, t);
  }

  /**
   * A subquery's series over `[t - offset - range, t - offset]`: the inner expression at every multiple of the
   * step inside (aligned to the epoch, as Prometheus aligns them), each inner time evaluated once per query.
   */
  #subqueryWindows(e: Subquery, at: number): (Window & { labels: Labels })[] {
    const t = fixedTime(e.at, at, this.#query);
    const endMs = t - e.offsetMs;
    const startMs = endMs - e.rangeMs;
    const step = subqueryStep(e);
    let cache = this.#subqueryResults.get(e);
    if (cache === undefined) this.#subqueryResults.set(e, (cache = new Map()));
    const out = new Map<string, Window & { labels: Labels; samples: Sample[] }>();
    for (let at = Math.ceil(startMs / step) * step; at <= endMs; at += step) {
      let samples = cache.get(at);
      if (samples === undefined) cache.set(at, (samples = this.#vector(this.evalAt(e.expr, at))));
      for (const s of samples) {
        const key = labelsKey(s.labels);
        let w = out.get(key);
        if (w === undefined) {
          out.set(
            key,
            (w = { labels: s.labels, startMs, endMs, rangeMs: e.rangeMs, evalMs: t, samples: [] }),
          );
        }
        w.samples.push({ t: at, v: s.v });
      }
    }
    return [...out.values()];
  }

  #call(e: Call, t: number): Value {
    const def = FUNCTIONS[e.func];
    if (def === undefined) throw new PromqlExecutionError(`unknown function ${e.func}`);
    if (def.kind === "range") {
      const at = def.args.indexOf("matrix");
      const arg = e.args[at];
      if (arg?.kind !== "matrixSelector" && arg?.kind !== "subquery") {
        throw new PromqlExecutionError(`${e.func} needs a range vector`);
      }
      const params = e.args.filter((_, i) => i !== at).map((a) => this.#scalar(this.evalAt(a, t)));
      const samples: InstantSample[] = [];
      for (const w of this.#windows(arg, t)) {
        const v = def.apply(w, params);
        if (v !== undefined)
          samples.push({ labels: def.keepName === true ? w.labels : dropName(w.labels), v });
      }
      return checked({ type: "vector", samples });
    }
    if (e.func === "absent_over_time") {
      const arg = e.args[0];
      if (arg?.kind !== "matrixSelector" && arg?.kind !== "subquery") {
        throw new PromqlExecutionError("absent_over_time needs a range vector");
      }
      const present = this.#windows(arg, t).some((w) => w.samples.length > 0);
      const labels = absentLabels(arg.kind === "matrixSelector" ? arg.selector : undefined);
      return { type: "vector", samples: present ? [] : [{ labels, v: 1 }] };
    }
    const args = e.args.map((a) => this.evalAt(a, t));
    if (def.kind === "value") {
      const params = args.slice(1).map((a) => this.#scalar(a));
      if (e.func === "clamp" && (params[0] as number) > (params[1] as number))
        return { type: "vector", samples: [] };
      const samples = this.#vector(args[0] as Value).map((s) => ({
        labels: dropName(s.labels),
        v: def.apply(s.v, params),
      }));
      return checked({ type: "vector", samples });
    }
    const strings = args.slice(1).map((a) => (a.type === "string" ? a.value : ""));
    switch (e.func) {
      case "time":
        return { type: "scalar", v: t / 1000 };
      case "scalar": {
        const samples = this.#vector(args[0] as Value);
        return { type: "scalar", v: samples.length === 1 ? (samples[0] as InstantSample).v : NaN };
      }
      case "vector":
        return { type: "vector", samples: [{ labels: {}, v: this.#scalar(args[0] as Value) }] };
      case "timestamp": {
        // A selector's samples carry their own time; anything computed is at the evaluation time (Prometheus).
        const own = e.args[0]?.kind === "vectorSelector";
        const samples = this.#vector(args[0] as Value).map((s) => ({
          labels: dropName(s.labels),
          v: (own ? (s.t ?? t) : t) / 1000,
        }));
        return checked({ type: "vector", samples });
      }
      case "absent": {
        const arg = e.args[0];
        const present = this.#vector(args[0] as Value).length > 0;
        const labels = absentLabels(arg?.kind === "vectorSelector" ? arg : undefined);
        return { type: "vector", samples: present ? [] : [{ labels, v: 1 }] };
      }
      case "sort":
      case "sort_desc": {
        const sign = e.func === "sort" ? 1 : -1;
        const samples = [...this.#vector(args[0] as Value)].sort((a, b) =>
          Number.isNaN(a.v) ? -1 : Number.isNaN(b.v) ? 1 : sign * (a.v - b.v),
        );
        return { type: "vector", samples };
      }
      case "label_replace": {
        const [dst = "", replacement = "", src = "", regex = ""] = strings;
        return checked({
          type: "vector",
          samples: labelReplace(this.#vector(args[0] as Value), dst, replacement, src, regex),
        });
      }
      case "label_join": {
        const [dst = "", separator = "", ...sources] = strings;
        return checked({
          type: "vector",
          samples: labelJoin(this.#vector(args[0] as Value), dst, separator, sources),
        });
      }
      default:
        throw new PromqlExecutionError(`unknown function ${e.func}`);
    }
  }

  #aggregate(e: Aggregate, t: number): InstantSample[] {
    const input = this.#vector(this.evalAt(e.expr, t));
    const param = e.param === undefined ? undefined : this.evalAt(e.param, t);
    const p = param === undefined ? undefined : param.type === "string" ? param.value : this.#scalar(param);
    return aggregate(e.op, input, e.grouping, p);
  }

  #binary(e: Binary, t: number): Value {
    const l = this.evalAt(e.lhs, t);
    const r = this.evalAt(e.rhs, t);
    if (l.type === "scalar" && r.type === "scalar") {
      const [v] = scalarOp(e, l.v, r.v);
      return { type: "scalar", v };
    }
    if (l.type === "scalar" || r.type === "scalar") {
      const swap = l.type === "scalar";
      const scalar = this.#scalar(swap ? l : r);
      const samples: InstantSample[] = [];
      for (const s of this.#vector(swap ? r : l)) {
        const [v, keep] = swap ? scalarOp(e, scalar, s.v) : scalarOp(e, s.v, scalar);
        if (!keep) continue;
        // A filtering comparison keeps the vector's own value, even when the scalar is on the left.
        const value = isComparison(e.op) && !e.returnBool ? s.v : v;
        const labels = isComparison(e.op) && !e.returnBool ? s.labels : dropName(s.labels);
        samples.push({ labels, v: value });
      }
      return checked({ type: "vector", samples });
    }
    return checked({ type: "vector", samples: this.#vectorBinary(e, this.#vector(l), this.#vector(r)) });
  }

  #vectorBinary(e: Binary, lhs: readonly InstantSample[], rhs: readonly InstantSample[]): InstantSample[] {
    const { matching } = e;
    const signature = (labels: Labels): string =>
      labelsKey(
        matching.on
          ? keepLabels(labels, matching.labels)
          : withoutLabels(labels, ["__name__", ...matching.labels]),
      );
    switch (e.op) {
      case "and": {
        const right = new Set(rhs.map((s) => signature(s.labels)));
        return lhs.filter((s) => right.has(signature(s.labels)));
      }
      case "unless": {
        const right = new Set(rhs.map((s) => signature(s.labels)));
        return lhs.filter((s) => !right.has(signature(s.labels)));
      }
      case "or": {
        const left = new Set(lhs.map((s) => signature(s.labels)));
        return [...lhs, ...rhs.filter((s) => !left.has(signature(s.labels)))];
      }
    }
    if (lhs.length === 0 || rhs.length === 0) return [];
    const swapped = matching.card === "one-to-many";
    const [many, one] = swapped ? [rhs, lhs] : [lhs, rhs];
    const oneBySignature = new Map<string, InstantSample>();
    for (const s of one) {
      const sig = signature(s.labels);
      if (oneBySignature.has(sig)) {
        throw new PromqlExecutionError(
          `found duplicate series for the match group on the ${swapped ? "left" : "right"} hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      oneBySignature.set(sig, s);
    }
    const matched = new Map<string, Set<string>>();
    const out: InstantSample[] = [];
    for (const m of many) {
      const sig = signature(m.labels);
      const o = oneBySignature.get(sig);
      if (o === undefined) continue;
      const [left, right] = swapped ? [o.v, m.v] : [m.v, o.v];
      const [v, keep] = scalarOp(e, left, right);
      if (!keep) continue;
      const labels = resultLabels(e, m.labels, o.labels);
      const seen = matched.get(sig);
      if (matching.card === "one-to-one") {
        if (seen !== undefined) {
          throw new PromqlExecutionError(
            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
          );
        }
        matched.set(sig, new Set());
      } else {
        const key = labelsKey(labels);
        if (seen?.has(key) === true) {
          throw new PromqlExecutionError(
            "multiple matches for labels: grouping labels must ensure unique matches",
          );
        }
        if (seen === undefined) matched.set(sig, new Set([key]));
        else seen.add(key);
      }
      out.push({ labels, v });
    }
    return out;
  }
}

/** The labels of a vector-vector result (Prometheus' resultMetric). */
function resultLabels(e: Binary, many: Labels, one: Labels): Labels {
  let labels = isComparison(e.op) && !e.returnBool ? many : dropName(many);
  const { matching } = e;
  if (matching.card === "one-to-one") {
    labels = matching.on ? keepLabels(labels, matching.labels) : withoutLabels(labels, matching.labels);
  }
  if (matching.include.length > 0) {
    const out: Record<string, string> = { ...labels };
    for (const name of matching.include) {
      const v = one[name];
      if (v !== undefined && v !== "") out[name] = v;
      else delete out[name];
    }
    labels = out;
  }
  return labels;
}

/** A binary operator on two numbers: the value, and for comparisons whether the pair is kept. */
function scalarOp(e: Binary, l: number, r: number): [number, boolean] {
  switch (e.op) {
    case "+":
      return [l + r, true];
    case "-":
      return [l - r, true];
    case "*":
      return [l * r, true];
    case "/":
      return [l / r, true];
    case "%":
      return [l % r, true];
    case "^":
      return [Math.pow(l, r), true];
    case "==":
      return compare(e, l, l === r);
    case "!=":
      return compare(e, l, l !== r);
    case ">":
      return compare(e, l, l > r);
    case "<":
      return compare(e, l, l < r);
    case ">=":
      return compare(e, l, l >= r);
    case "<=":
      return compare(e, l, l <= r);
    default:
      throw new PromqlExecutionError(`operator ${e.op} needs two instant vectors`);
  }
}

/** A comparison: with `bool` 1 or 0 (always kept), else the left value, kept when the comparison holds. */
function compare(e: Binary, l: number, holds: boolean): [number, boolean] {
  return e.returnBool ? [holds ? 1 : 0, true] : [l, holds];
}

/** Functions and arithmetic drop the metric name, so two inputs may collapse into one label set: an error. */
function checked(v: Value & { type: "vector" }): Value {
  const seen = new Set<string>();
  for (const s of v.samples) {
    const key = labelsKey(s.labels);
    if (seen.has(key)) throw new PromqlExecutionError("vector cannot contain metrics with the same labelset");
    seen.add(key);
  }
  return v;
}

/** Index of the last sample with time <= t, or -1. */
function lastAtOrBefore(samples: readonly Sample[], t: number): number {
  let lo = 0;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((samples[mid] as Sample).t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * lastAtOrBefore, starting from the index found for the previous step: a range query's steps only move forward,
 * so walking on from there reads each sample about once, in order, instead of a binary search's scattered reads
 * per step. The first call (cursor -1) and a time that moved back search.
 */
function seek(samples: readonly Sample[], t: number, cursor: number): number {
  if (cursor < 0 || (samples[cursor] as Sample).t > t) return lastAtOrBefore(samples, t);
  let i = cursor;
  while (i + 1 < samples.length && (samples[i + 1] as Sample).t <= t) i++;
  return i;
}

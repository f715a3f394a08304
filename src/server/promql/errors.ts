/**
 * The PromQL layer's errors. The Prometheus API maps them to its `errorType`: a query that cannot be parsed or is
 * outside kvmon's subset is `bad_data` (400), a query that would read or produce too much is `execution` (422),
 * and a query past its deadline is a TimeoutError (`timeout`, 503).
 */
import { KvmonError } from "../../shared/errors.ts";

/** Where in the query text a problem is: character offsets, `from` inclusive. */
export interface Span {
  readonly from: number;
  readonly to: number;
}

/** Malformed PromQL, a type error, or a construct kvmon does not evaluate; the message names the position. */
export class PromqlParseError extends KvmonError {
  override name = "PromqlParseError";
  readonly position: number;
  constructor(query: string, at: number, message: string) {
    super("PROMQL_PARSE", `${lineColumn(query, at)}: parse error: ${message}`);
    this.position = at;
  }
}

/** A query parameter (time, duration, step) that cannot be used. */
export class PromqlBadParamError extends KvmonError {
  override name = "PromqlBadParamError";
  constructor(message: string) {
    super("PROMQL_BAD_PARAM", message);
  }
}

/** The query would read more series or produce more points than the engine's limits allow. */
export class PromqlLimitError extends KvmonError {
  override name = "PromqlLimitError";
  constructor(message: string, hint?: string) {
    super("PROMQL_LIMIT", message, { hint });
  }
}

/** Evaluation failed on the data (e.g. a one-to-one match found two series on one side). */
export class PromqlExecutionError extends KvmonError {
  override name = "PromqlExecutionError";
  constructor(message: string) {
    super("PROMQL_EXECUTION", message);
  }
}

/** `line:column` (both from 1) of a character offset, as Prometheus prints parse positions. */
function lineColumn(query: string, at: number): string {
  const before = query.slice(0, at);
  const line = before.split("\n").length;
  const column = at - (before.lastIndexOf("\n") + 1) + 1;
  return `${line}:${column}`;
}

/**
 * The typed syntax tree kvmon evaluates: a small subset of PromQL, built from lezer-promql's concrete tree by
 * parse.ts. Every node keeps its span in the query text so evaluation errors can point at it.
 */
import type { Matcher } from "../storage/types.ts";
import type { Span } from "./errors.ts";

/** The four PromQL value types; a query's result is one of the first three. */
export type ValueType = "scalar" | "vector" | "matrix" | "string";

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | Subquery
  | Call
  | Aggregate
  | Binary
  | Unary;

export interface NumberLiteral {
  readonly kind: "number";
  readonly value: number;
  readonly span: Span;
}

export interface StringLiteral {
  readonly kind: "string";
  readonly value: string;
  readonly span: Span;
}

/** `@ <unix seconds>`, `@ start()`, `@ end()`: evaluate at that time, whatever the step. */
export type AtModifier = { readonly ms: number } | "start" | "end";

export interface VectorSelector {
  readonly kind: "vectorSelector";
  /** Every matcher, the metric name as `__name__="..."` included. */
  readonly matchers: readonly Matcher[];
  /** `offset 5m` moves the selection back by this much (negative: forward). */
  readonly offsetMs: number;
  readonly at?: AtModifier;
  readonly span: Span;
}

export interface MatrixSelector {
  readonly kind: "matrixSelector";
  readonly selector: VectorSelector;
  readonly rangeMs: number;
  readonly span: Span;
}

/** `expr[range:step]`: the inner expression evaluated at step-aligned times of the range, as a range vector. */
export interface Subquery {
  readonly kind: "subquery";
  readonly expr: Expr;
  readonly rangeMs: number;
  /** 0: the default step (Prometheus' default evaluation interval, 1 minute). */
  readonly stepMs: number;
  readonly offsetMs: number;
  readonly at?: AtModifier;
  readonly span: Span;
}

export interface Call {
  readonly kind: "call";
  readonly func: string;
  readonly args: readonly Expr[];
  readonly span: Span;
}

export type AggregateOp =
  | "sum"
  | "avg"
  | "min"
  | "max"
  | "count"
  | "group"
  | "stddev"
  | "stdvar"
  | "quantile"
  | "count_values"
  | "topk"
  | "bottomk";

export interface Grouping {
  /** `without (...)` drops the labels; `by (...)` keeps only them. */
  readonly without: boolean;
  readonly labels: readonly string[];
}

export interface Aggregate {
  readonly kind: "aggregate";
  readonly op: AggregateOp;
  /** k of topk/bottomk, φ of quantile, the label of count_values. */
  readonly param: Expr | undefined;
  readonly expr: Expr;
  readonly grouping: Grouping;
  readonly span: Span;
}

export type ArithmeticOp = "+" | "-" | "*" | "/" | "%" | "^";
export type ComparisonOp = "==" | "!=" | ">" | "<" | ">=" | "<=";
export type SetOp = "and" | "or" | "unless";
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

/** How two vectors' samples are paired: `on(...)`/`ignoring(...)`, and `group_left/right(...)` for many-to-one. */
export interface VectorMatching {
  /** true for `on(labels)`, false for `ignoring(labels)` (and for no clause: ignoring nothing). */
  readonly on: boolean;
  readonly labels: readonly string[];
  readonly card: "one-to-one" | "many-to-one" | "one-to-many" | "many-to-many";
  /** Labels of the "one" side copied onto the result (`group_left(a, b)`). */
  readonly include: readonly string[];
}

export interface Binary {
  readonly kind: "binary";
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  /** `bool`: a comparison returns 0/1 instead of filtering. */
  readonly returnBool: boolean;
  readonly matching: VectorMatching;
  readonly span: Span;
}

export interface Unary {
  readonly kind: "unary";
  readonly op: "-" | "+";
  readonly expr: Expr;
  readonly span: Span;
}

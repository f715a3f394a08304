/**
 * PromQL text -> kvmon's typed AST (ast.ts). The grammar is the Prometheus project's own Lezer grammar
 * (@prometheus-io/lezer-promql, the one Prometheus' web UI uses); this file walks its concrete tree, whose node
 * names are the grammar's rule names, and type-checks the result as Prometheus' parser does, so an unsupported or
 * ill-typed query fails here with its position, never half-way through an evaluation.
 */
import { parser } from "@prometheus-io/lezer-promql";
import type { Matcher } from "../storage/types.ts";
import type {
  AggregateOp,
  AtModifier,
  BinaryOp,
  Expr,
  Grouping,
  MatrixSelector,
  ValueType,
  VectorMatching,
  VectorSelector,
} from "./ast.ts";
import { parsePromDuration } from "./duration.ts";
import { PromqlParseError } from "./errors.ts";
import { FUNCTIONS } from "./functions.ts";

/** A node of lezer's syntax tree (typed through the parser, so @lezer/common need not be a direct dependency). */
type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];

/** The aggregations kvmon evaluates, with the type of their parameter (none for most). */
const AGGREGATES: Readonly<Record<string, ValueType | null>> = {
  sum: null,
  avg: null,
  min: null,
  max: null,
  count: null,
  group: null,
  stddev: null,
  stdvar: null,
  quantile: "scalar",
  count_values: "string",
  topk: "scalar",
  bottomk: "scalar",
};

const BINARY_OPS: Readonly<Record<string, BinaryOp>> = {
  Add: "+",
  Sub: "-",
  Mul: "*",
  Div: "/",
  Mod: "%",
  Pow: "^",
  Eql: "==",
  Neq: "!=",
  Gtr: ">",
  Lss: "<",
  Gte: ">=",
  Lte: "<=",
  And: "and",
  Or: "or",
  Unless: "unless",
};

const MATCH_OPS: Readonly<Record<string, Matcher["op"]>> = {
  EqlSingle: "=",
  Neq: "!=",
  EqlRegex: "=~",
  NeqRegex: "!~",
};

const COMPARISONS: ReadonlySet<BinaryOp> = new Set(["==", "!=", ">", "<", ">=", "<="]);
const SET_OPS: ReadonlySet<BinaryOp> = new Set(["and", "or", "unless"]);

/** Node names of constructs the grammar knows and kvmon does not evaluate, with what to say. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  AnchoredExpr: "the anchored modifier is not supported",
  SmoothedExpr: "the smoothed modifier is not supported",
  FillModifier: "fill modifiers are not supported",
};

export function isComparison(op: BinaryOp): boolean {
  return COMPARISONS.has(op);
}

/** Parses and type-checks a PromQL expression; throws PromqlParseError naming the position of the first problem. */
export function parseQuery(query: string): Expr {
  if (query.trim() === "") throw new PromqlParseError(query, 0, "no expression found in input");
  const tree = parser.parse(query);
  tree.iterate({
    enter: (n) => {
      if (n.type.isError) {
        const at = n.from;
        const what =
          at >= query.length ? "end of input" : `character ${JSON.stringify(query.slice(at, at + 1))}`;
        throw new PromqlParseError(query, at, `unexpected ${what}`);
      }
    },
  });
  const top = tree.topNode.firstChild;
  if (top === null) throw new PromqlParseError(query, 0, "no expression found in input");
  const expr = new TreeReader(query).expr(top);
  typeOf(query, expr);
  return expr;
}

/** Parses a series selector (`match[]` of the series/labels APIs): a plain vector selector, no offset or @. */
export function parseSelector(text: string): Matcher[] {
  const expr = parseQuery(text);
  if (expr.kind !== "vectorSelector" || expr.offsetMs !== 0 || expr.at !== undefined) {
    throw new PromqlParseError(text, 0, 'expected a series selector such as up{job="x"}');
  }
  return [...expr.matchers];
}

const MODIFIERS: ReadonlySet<string> = new Set([
  "MatrixSelector",
  "SubqueryExpr",
  "OffsetExpr",
  "StepInvariantExpr",
]);

interface Modifier {
  readonly inner: SyntaxNode;
  readonly apply: (target: Expr, node: SyntaxNode) => Expr;
}

class TreeReader {
  private readonly query: string;
  constructor(query: string) {
    this.query = query;
  }

  private text(n: SyntaxNode): string {
    return this.query.slice(n.from, n.to);
  }

  private fail(n: SyntaxNode, message: string): never {
    throw new PromqlParseError(this.query, n.from, message);
  }

  private children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c !== null; c = c.nextSibling) out.push(c);
    return out;
  }

  private child(n: SyntaxNode, name: string): SyntaxNode | undefined {
    return this.children(n).find((c) => c.name === name);
  }

  expr(n: SyntaxNode): Expr {
    const span = { from: n.from, to: n.to };
    const unsupported = UNSUPPORTED[n.name];
    if (unsupported !== undefined) this.fail(n, unsupported);
    switch (n.name) {
      case "ParenExpr":
        return this.expr(this.only(n));
      case "NumberDurationLiteral":
        return { kind: "number", value: this.number(n), span };
      case "StringLiteral":
        return { kind: "string", value: this.string(n), span };
      case "VectorSelector":
        return this.vectorSelector(n);
      case "MatrixSelector":
      case "SubqueryExpr":
      case "OffsetExpr":
      case "StepInvariantExpr": {
        const { inner, apply } = this.modifier(n);
        return this.postfix(inner, apply);
      }
      case "FunctionCall":
        return this.call(n);
      case "AggregateExpr":
        return this.aggregate(n);
      case "BinaryExpr":
        return this.binary(n);
      case "UnaryExpr":
        return this.unary(n);
      default:
        return this.fail(n, `unsupported expression ${JSON.stringify(this.text(n))}`);
    }
  }

  private only(n: SyntaxNode): SyntaxNode {
    const [first] = this.children(n);
    if (first === undefined) this.fail(n, "empty expression");
    return first;
  }

  private number(n: SyntaxNode): number {
    const text = this.text(n).replaceAll("_", "");
    const sign = text.startsWith("-") ? -1 : 1;
    const body = text.replace(/^[+-]/, "");
    const lower = body.toLowerCase();
    if (lower === "inf") return sign * Infinity;
    if (lower === "nan") return NaN;
    if (lower.startsWith("0x")) return sign * Number.parseInt(lower.slice(2), 16);
    const duration = /^\d+$/.test(body) ? undefined : parsePromDuration(body);
    if (duration !== undefined) return (sign * duration) / 1000;
    const value = Number(body);
    if (Number.isNaN(value)) this.fail(n, `bad number ${JSON.stringify(text)}`);
    return sign * value;
  }

  /** Go-style string literal: "..." and '...' with escapes, `...` raw. */
  private string(n: SyntaxNode): string {
    const text = this.text(n);
    const quote = text[0];
    if (text.length < 2 || text[text.length - 1] !== quote) this.fail(n, "unterminated quoted string");
    const body = text.slice(1, -1);
    if (quote === "`") return body;
    return body.replace(
      /\\(?:([abfnrtv\\'"])|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{3})|(.))/g,
      (_, simple?: string, hex?: string, u4?: string, u8?: string, octal?: string, bad?: string) => {
        if (bad !== undefined) this.fail(n, `unknown escape sequence \\${bad}`);
        if (simple !== undefined) return SIMPLE_ESCAPES[simple] ?? simple;
        const code = hex ?? u4 ?? u8;
        if (code !== undefined) return String.fromCodePoint(Number.parseInt(code, 16));
        return String.fromCharCode(Number.parseInt(octal ?? "0", 8));
      },
    );
  }

  private duration(n: SyntaxNode): number {
    const literal = this.child(n, "NumberDurationLiteralInDurationContext");
    if (literal === undefined || this.children(n).length !== 1)
      this.fail(n, "duration expressions are not supported");
    const text = this.text(literal);
    const ms = parsePromDuration(text) ?? (/^\d+(?:\.\d+)?$/.test(text) ? Number(text) * 1000 : undefined);
    if (ms === undefined) this.fail(literal, `bad duration ${JSON.stringify(text)}`);
    return ms;
  }

  private vectorSelector(n: SyntaxNode): VectorSelector {
    const matchers: Matcher[] = [];
    const name = this.child(n, "Identifier");
    if (name !== undefined) matchers.push({ name: "__name__", op: "=", value: this.text(name) });
    const list = this.child(n, "LabelMatchers");
    for (const m of list === undefined ? [] : this.children(list)) {
      if (m.name === "QuotedLabelName") {
        if (name !== undefined) this.fail(m, "metric name must not be set twice");
        matchers.push({ name: "__name__", op: "=", value: this.string(this.only(m)) });
        continue;
      }
      const [label, op, value] = this.children(m);
      if (label === undefined || op === undefined || value === undefined)
        this.fail(m, "malformed label matcher");
      const labelName = label.name === "QuotedLabelName" ? this.string(this.only(label)) : this.text(label);
      const matchOp = MATCH_OPS[this.only(op).name];
      if (matchOp === undefined) this.fail(op, "unknown match operator");
      const matcher: Matcher = { name: labelName, op: matchOp, value: this.string(value) };
      if (matchOp === "=~" || matchOp === "!~") {
        try {
          new RegExp(`^(?:${matcher.value})$`);
        } catch (e) {
          this.fail(
            value,
            `invalid regular expression ${JSON.stringify(matcher.value)}: ${(e as Error).message}`,
          );
        }
      }
      matchers.push(matcher);
    }
    if (!matchers.some((m) => !matchesEmpty(m))) {
      this.fail(n, "vector selector must contain at least one non-empty matcher");
    }
    return { kind: "vectorSelector", matchers, offsetMs: 0, span: { from: n.from, to: n.to } };
  }

  /** A postfix modifier node (`[range]`, `[range:step]`, `offset`, `@`): what it follows, and how it changes it. */
  private modifier(n: SyntaxNode): Modifier {
    const [inner, second, third] = this.children(n);
    if (inner === undefined || second === undefined) this.fail(n, `malformed ${n.name}`);
    switch (n.name) {
      case "MatrixSelector": {
        const rangeMs = this.positiveDuration(second);
        return {
          inner,
          apply: (selector, node): MatrixSelector => {
            if (selector.kind !== "vectorSelector")
              this.fail(node, "ranges only allowed for vector selectors");
            return { kind: "matrixSelector", selector, rangeMs, span: { from: node.from, to: n.to } };
          },
        };
      }
      case "SubqueryExpr": {
        const rangeMs = this.positiveDuration(second);
        const stepMs = third === undefined ? 0 : this.duration(third);
        return {
          inner,
          apply: (expr, node) => ({
            kind: "subquery",
            expr,
            rangeMs,
            stepMs,
            offsetMs: 0,
            span: { from: node.from, to: n.to },
          }),
        };
      }
      case "OffsetExpr": {
        if (third === undefined) this.fail(n, "malformed offset");
        let sign = 1;
        let d = third;
        while (d.firstChild?.name === "UnaryOp") {
          if (this.text(d.firstChild) === "-") sign = -sign;
          d = this.children(d)[1] ?? this.fail(d, "malformed offset");
        }
        const offsetMs = sign * this.duration(d);
        return { inner, apply: (target) => this.withOffset(n, target, offsetMs) };
      }
      default: {
        if (third === undefined) this.fail(n, "malformed @ modifier");
        const at: AtModifier =
          third.name === "AtModifierPreprocessors"
            ? third.firstChild?.name === "AtStart"
              ? "start"
              : "end"
            : { ms: Math.round(this.number(third) * 1000) };
        if (typeof at === "object" && !Number.isFinite(at.ms)) {
          this.fail(third, "timestamp out of bounds for @ modifier");
        }
        return { inner, apply: (target) => this.withAt(n, target, at) };
      }
    }
  }

  private positiveDuration(n: SyntaxNode): number {
    const ms = this.duration(n);
    if (ms <= 0) this.fail(n, "range must be greater than 0");
    return ms;
  }

  /**
   * Applies a postfix modifier (`[range]`, `[range:step]`, `offset`, `@`) to what it follows. Prometheus' parser
   * binds it to the nearest operand (`a - b offset 5m` is `a - (b offset 5m)`); the Lezer grammar to the whole
   * binary or unary expression before it, so the modifier is pushed down to the rightmost operand.
   */
  private postfix(inner: SyntaxNode, apply: (target: Expr, node: SyntaxNode) => Expr): Expr {
    if (inner.name === "BinaryExpr") return this.binary(inner, (rhs) => this.postfix(rhs, apply));
    if (inner.name === "UnaryExpr") return this.unary(inner, (operand) => this.postfix(operand, apply));
    if (MODIFIERS.has(inner.name)) {
      // `a - b offset 5m @ 10`: the inner modifier is pushed down too, then this one on top of it.
      const m = this.modifier(inner);
      return this.postfix(m.inner, (target, node) => apply(m.apply(target, node), node));
    }
    return apply(this.expr(inner), inner);
  }

  private unary(n: SyntaxNode, operandOf = (o: SyntaxNode): Expr => this.expr(o)): Expr {
    const [op, operand] = this.children(n);
    if (op === undefined || operand === undefined) this.fail(n, "malformed unary expression");
    return {
      kind: "unary",
      op: this.text(op) === "-" ? "-" : "+",
      expr: operandOf(operand),
      span: { from: n.from, to: n.to },
    };
  }

  private withOffset(n: SyntaxNode, target: Expr, offsetMs: number): Expr {
    if (target.kind === "subquery") {
      if (target.offsetMs !== 0) this.fail(n, "offset may not be set multiple times");
      return { ...target, offsetMs };
    }
    const selector = target.kind === "matrixSelector" ? target.selector : target;
    if (selector.kind !== "vectorSelector") {
      this.fail(
        n,
        "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
      );
    }
    if (selector.offsetMs !== 0) this.fail(n, "offset may not be set multiple times");
    const moved: VectorSelector = { ...selector, offsetMs };
    return target.kind === "matrixSelector" ? { ...target, selector: moved } : moved;
  }

  private withAt(n: SyntaxNode, target: Expr, at: AtModifier): Expr {
    const selector = target.kind === "matrixSelector" ? target.selector : target;
    if (selector.kind !== "vectorSelector" && selector.kind !== "subquery") {
      this.fail(
        n,
        "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
      );
    }
    if (selector.at !== undefined) this.fail(n, "@ <timestamp> may not be set multiple times");
    if (selector.kind === "subquery") return { ...selector, at };
    const fixed: VectorSelector = { ...selector, at };
    return target.kind === "matrixSelector" ? { ...target, selector: fixed } : fixed;
  }

  private call(n: SyntaxNode): Expr {
    const [id, body] = this.children(n);
    if (id === undefined || body === undefined) this.fail(n, "malformed function call");
    const func = this.text(id);
    if (FUNCTIONS[func] === undefined)
      this.fail(id, `function ${JSON.stringify(func)} is not supported by kvmon`);
    const args = this.children(body).map((a) => this.expr(a));
    return { kind: "call", func, args, span: { from: n.from, to: n.to } };
  }

  private aggregate(n: SyntaxNode): Expr {
    const opNode = this.child(n, "AggregateOp");
    const body = this.child(n, "FunctionCallBody");
    if (opNode === undefined || body === undefined) this.fail(n, "malformed aggregation");
    const op = this.text(opNode).toLowerCase();
    const paramType = AGGREGATES[op];
    if (paramType === undefined)
      this.fail(opNode, `aggregation ${JSON.stringify(op)} is not supported by kvmon`);
    // No modifier (`sum(x)`) is `by ()`: everything aggregates into one series.
    const modifier = this.child(n, "AggregateModifier");
    const list = modifier === undefined ? undefined : this.child(modifier, "GroupingLabels");
    const grouping: Grouping = {
      without: modifier?.firstChild?.name === "Without",
      labels: list === undefined ? [] : this.labelsOf(list),
    };
    const args = this.children(body).map((a) => this.expr(a));
    const takesParam = paramType !== null;
    if (args.length !== (takesParam ? 2 : 1)) {
      this.fail(
        body,
        `wrong number of arguments for aggregate expression provided, expected ${takesParam ? 2 : 1}, got ${args.length}`,
      );
    }
    const expr = args[args.length - 1] as Expr;
    const param = takesParam ? args[0] : undefined;
    return {
      kind: "aggregate",
      op: op as AggregateOp,
      param,
      expr,
      grouping,
      span: { from: n.from, to: n.to },
    };
  }

  private binary(n: SyntaxNode, rhsOf = (r: SyntaxNode): Expr => this.expr(r)): Expr {
    const parts = this.children(n);
    const lhsNode = parts[0];
    const rhsNode = parts[parts.length - 1];
    const opNode = parts[1];
    if (lhsNode === undefined || rhsNode === undefined || opNode === undefined)
      this.fail(n, "malformed binary expression");
    const op = BINARY_OPS[opNode.name];
    if (op === undefined) this.fail(opNode, `operator ${JSON.stringify(this.text(opNode))} is not supported`);
    const fill = parts.find((p) => p.name === "FillModifier");
    if (fill !== undefined) this.fail(fill, UNSUPPORTED.FillModifier as string);
    const returnBool = parts.some((p) => p.name === "BoolModifier");
    const clause = parts.find((p) => p.name === "MatchingModifierClause");
    let matching: VectorMatching = {
      on: false,
      labels: [],
      card: SET_OPS.has(op) ? "many-to-many" : "one-to-one",
      include: [],
    };
    if (clause !== undefined) {
      const c = this.children(clause);
      const groupNode = c.find((x) => x.name === "GroupLeft" || x.name === "GroupRight");
      const lists = c.filter((x) => x.name === "GroupingLabels").map((l) => this.labelsOf(l));
      if (groupNode !== undefined && SET_OPS.has(op))
        this.fail(groupNode, `no grouping allowed for "${op}" operation`);
      matching = {
        on: c[0]?.name === "On",
        labels: lists[0] ?? [],
        card:
          groupNode === undefined
            ? matching.card
            : groupNode.name === "GroupLeft"
              ? "many-to-one"
              : "one-to-many",
        include: lists[1] ?? [],
      };
    }
    if (returnBool && !COMPARISONS.has(op))
      this.fail(opNode, "bool modifier can only be used on comparison operators");
    const span = { from: n.from, to: n.to };
    const lhs = this.expr(lhsNode);
    const rhs = rhsOf(rhsNode);
    // The Lezer grammar reads `-2 ^ 2` as (-2) ^ 2; Prometheus' own parser has no signed literals, so the minus
    // is a unary operator there and binds looser than ^: -(2 ^ 2) = -4. Answer as Prometheus does.
    const signed = /^[+-]/.exec(this.text(lhsNode))?.[0];
    if (
      op === "^" &&
      lhsNode.name === "NumberDurationLiteral" &&
      lhs.kind === "number" &&
      signed !== undefined
    ) {
      const base = { ...lhs, value: Math.abs(lhs.value), span: { from: lhsNode.from + 1, to: lhsNode.to } };
      const power: Expr = {
        kind: "binary",
        op,
        lhs: base,
        rhs,
        returnBool,
        matching,
        span: { ...span, from: base.span.from },
      };
      return { kind: "unary", op: signed === "-" ? "-" : "+", expr: power, span };
    }
    return { kind: "binary", op, lhs, rhs, returnBool, matching, span };
  }

  private labelsOf(list: SyntaxNode): string[] {
    return this.children(list).map((l) =>
      l.name === "QuotedLabelName" ? this.string(this.only(l)) : this.text(l),
    );
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

/** Whether a matcher matches the empty string (a missing label), as Prometheus' "non-empty matcher" rule asks. */
function matchesEmpty(m: Matcher): boolean {
  switch (m.op) {
    case "=":
      return m.value === "";
    case "!=":
      return m.value !== "";
    case "=~":
      return new RegExp(`^(?:${m.value})$`).test("");
    case "!~":
      return !new RegExp(`^(?:${m.value})$`).test("");
  }
}

const TYPE_NAMES: Readonly<Record<ValueType, string>> = {
  scalar: "scalar",
  vector: "instant vector",
  matrix: "range vector",
  string: "string",
};

/** The value type of an expression; throws PromqlParseError where Prometheus' type check would. */
export function typeOf(query: string, e: Expr): ValueType {
  const fail = (at: number, message: string): never => {
    throw new PromqlParseError(query, at, message);
  };
  switch (e.kind) {
    case "number":
      return "scalar";
    case "string":
      return "string";
    case "vectorSelector":
      return "vector";
    case "matrixSelector":
      return "matrix";
    case "subquery": {
      const t = typeOf(query, e.expr);
      if (t !== "vector")
        fail(e.span.from, `subquery is only allowed on instant vector, got ${TYPE_NAMES[t]}`);
      return "matrix";
    }
    case "unary": {
      const t = typeOf(query, e.expr);
      if (t !== "scalar" && t !== "vector")
        fail(e.span.from, "unary expression only allowed on expressions of type scalar or instant vector");
      return t;
    }
    case "call": {
      const def = FUNCTIONS[e.func];
      if (def === undefined) return fail(e.span.from, `unknown function ${JSON.stringify(e.func)}`);
      const min = def.args.length - (def.optional ?? 0);
      const max = def.variadic === true ? Infinity : def.args.length;
      if (e.args.length < min || e.args.length > max) {
        const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
        fail(
          e.span.from,
          `expected ${expected} argument(s) in call to ${JSON.stringify(e.func)}, got ${e.args.length}`,
        );
      }
      e.args.forEach((arg, i) => {
        const want = def.args[Math.min(i, def.args.length - 1)] as ValueType;
        const got = typeOf(query, arg);
        if (got !== want) {
          fail(
            arg.span.from,
            `expected type ${TYPE_NAMES[want]} in call to function ${JSON.stringify(e.func)}, got ${TYPE_NAMES[got]}`,
          );
        }
      });
      return def.returns;
    }
    case "aggregate": {
      const t = typeOf(query, e.expr);
      if (t !== "vector")
        fail(
          e.expr.span.from,
          `expected type instant vector in aggregation expression, got ${TYPE_NAMES[t]}`,
        );
      const want = AGGREGATES[e.op] ?? "scalar";
      if (e.param !== undefined && typeOf(query, e.param) !== want) {
        fail(
          e.param.span.from,
          `expected type ${TYPE_NAMES[want]} in aggregation parameter, got ${TYPE_NAMES[typeOf(query, e.param)]}`,
        );
      }
      return "vector";
    }
    case "binary": {
      const l = typeOf(query, e.lhs);
      const r = typeOf(query, e.rhs);
      for (const [t, side] of [
        [l, e.lhs],
        [r, e.rhs],
      ] as const) {
        if (t !== "scalar" && t !== "vector")
          fail(side.span.from, "binary expression must contain only scalar and instant vector types");
      }
      const vectors = l === "vector" && r === "vector";
      if (SET_OPS.has(e.op) && !vectors)
        fail(e.span.from, `set operator "${e.op}" not allowed in binary scalar expression`);
      if (
        !vectors &&
        (e.matching.on ||
          e.matching.labels.length > 0 ||
          e.matching.card === "many-to-one" ||
          e.matching.card === "one-to-many")
      ) {
        fail(e.span.from, "vector matching only allowed between instant vectors");
      }
      if (l === "scalar" && r === "scalar") {
        if (COMPARISONS.has(e.op) && !e.returnBool)
          fail(e.span.from, "comparisons between scalars must use BOOL modifier");
        return "scalar";
      }
      return "vector";
    }
  }
}

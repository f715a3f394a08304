/**
 * A strict JSON parser for guest-agent replies: JSON.parse's grammar, with two differences that matter for an
 * untrusted peer whose integers are 64-bit:
 * - integers outside ±(2^53-1) become bigint, without precision loss (guest-get-time is ~1.8e18 ns; uint64
 *   counters too). Safe integers stay number; literals with a fraction or exponent are always number;
 * - nesting is bounded (`maxDepth`), and "__proto__" keys are plain own properties, never a prototype.
 * JSON.parse cannot do the first: its reviver sees the already rounded double (the source-text access
 * proposal is not enabled in Node 24 without a flag). Errors are QgaProtocolError naming the offset.
 */
import { QgaProtocolError } from "./errors.ts";

export type JsonValue =
  null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

export function parseJson(text: string, maxDepth = 64): JsonValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new QgaProtocolError(`malformed JSON: ${what} at offset ${pos}`);
  };
  const skip = () => {
    WHITESPACE.lastIndex = pos;
    WHITESPACE.test(text);
    pos = WHITESPACE.lastIndex;
  };
  const literal = (word: string, value: JsonValue): JsonValue => {
    if (!text.startsWith(word, pos)) fail("unexpected token");
    pos += word.length;
    return value;
  };
  const string = (): string => {
    pos++; // opening quote
    let out = "";
    for (;;) {
      const quote = text.indexOf('"', pos);
      if (quote < 0) fail("unterminated string");
      const slash = text.indexOf("\\", pos);
      const end = slash >= 0 && slash < quote ? slash : quote;
      const chunk = text.slice(pos, end);
      if (/[\u0000-\u001f]/.test(chunk)) fail("control character in string");
      out += chunk;
      pos = end + 1;
      if (end === quote) return out;
      const e = text[pos];
      if (e === "u") {
        const hex = text.slice(pos + 1, pos + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
        out += String.fromCharCode(Number.parseInt(hex, 16));
        pos += 5;
      } else {
        const c = e === undefined ? undefined : ESCAPES[e];
        if (c === undefined) fail("bad escape");
        out += c;
        pos++;
      }
    }
  };
  const number = (): number | bigint => {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) return fail("unexpected token");
    pos = NUMBER.lastIndex;
    const n = Number(m[0]);
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  };
  const value = (depth: number): JsonValue => {
    skip();
    const c = text[pos];
    if (c === "{" || c === "[") {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`);
      return c === "{" ? object(depth + 1) : array(depth + 1);
    }
    if (c === '"') return string();
    if (c === "t") return literal("true", true);
    if (c === "f") return literal("false", false);
    if (c === "n") return literal("null", null);
    return number();
  };
  const array = (depth: number): JsonValue[] => {
    pos++;
    const out: JsonValue[] = [];
    skip();
    if (text[pos] === "]") {
      pos++;
      return out;
    }
    for (;;) {
      out.push(value(depth));
      skip();
      const c = text[pos++];
      if (c === "]") return out;
      if (c !== ",") fail("expected ',' or ']'");
    }
  };
  const object = (depth: number): { [key: string]: JsonValue } => {
    pos++;
    const out: { [key: string]: JsonValue } = {};
    skip();
    if (text[pos] === "}") {
      pos++;
      return out;
    }
    for (;;) {
      skip();
      if (text[pos] !== '"') fail("expected a key");
      const key = string();
      skip();
      if (text[pos++] !== ":") fail("expected ':'");
      const v = value(depth);
      if (key === "__proto__")
        Object.defineProperty(out, key, { value: v, enumerable: true, writable: true });
      else out[key] = v;
      skip();
      const c = text[pos++];
      if (c === "}") return out;
      if (c !== ",") fail("expected ',' or '}'");
    }
  };
  const result = value(0);
  skip();
  if (pos !== text.length) fail("trailing characters");
  return result;
}

import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeReply, encodeCommand, encodeSync, LineReader, SYNC_DELIMITER } from "./codec.ts";
import { QgaCommandError, QgaProtocolError } from "./errors.ts";
import { parseJson } from "./json.ts";

test("requests: execute with or without arguments; sync is 0xFF then guest-sync-delimited", () => {
  assert.equal(encodeCommand("guest-ping").toString(), '{"execute":"guest-ping"}');
  assert.equal(
    encodeCommand("guest-exec-status", { pid: 7 }).toString(),
    '{"execute":"guest-exec-status","arguments":{"pid":7}}',
  );
  const sync = encodeSync(42);
  assert.equal(sync[0], SYNC_DELIMITER);
  assert.equal(sync.subarray(1).toString(), '{"execute":"guest-sync-delimited","arguments":{"id":42}}');
});

test("JSON: integers beyond 2^53 stay exact as bigint; safe integers and fractions are numbers", () => {
  const v = parseJson(
    '{"return": 1795657841747071000, "n": [12, -9007199254740993, 1.5, 2e3, 9007199254740991]}',
  );
  assert.deepEqual(v, {
    return: 1795657841747071000n,
    n: [12, -9007199254740993n, 1.5, 2000, 9007199254740991],
  });
  assert.deepEqual(parseJson('"a\\u00e9\\n\\"\\/"'), 'aé\n"/');
  // __proto__ is data, never a prototype.
  const o = parseJson('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(o), Object.prototype);
  assert.deepEqual(Object.keys(o), ["__proto__"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("JSON: malformed input of every kind is a QgaProtocolError, and nesting is bounded", () => {
  const bad = [
    "",
    "{",
    '{"a":1,}',
    "[1 2]",
    '"unterminated',
    '"ctl\u0001"',
    '"bad \\x escape"',
    '"\\u12"',
    "01",
    "-",
    "+1",
    "NaN",
    "tru",
    "{} {}",
    "{'a':1}",
    "[".repeat(65) + "]".repeat(65),
  ];
  for (const text of bad) assert.throws(() => parseJson(text), QgaProtocolError, JSON.stringify(text));
  assert.deepEqual(parseJson("[".repeat(64) + "]".repeat(64), 64) instanceof Array, true);
});

test("JSON: random garbage never throws anything but QgaProtocolError (fuzz, seeded)", () => {
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const alphabet = '{}[]:,"\\ -+.0123456789eEtrufalsn\u00ff\u0000abc';
  const valid = '{"return": {"a": [1, 2.5, "x", true, null, 18446744073709551615]}}';
  for (let i = 0; i < 5000; i++) {
    let text: string;
    if (i % 2 === 0) {
      // Mutations of a valid reply.
      const chars = [...valid];
      for (let k = 0; k < 3; k++)
        chars[Math.floor(rand() * chars.length)] = alphabet[Math.floor(rand() * alphabet.length)]!;
      text = chars.join("");
    } else {
      text = Array.from(
        { length: Math.floor(rand() * 40) },
        () => alphabet[Math.floor(rand() * alphabet.length)],
      ).join("");
    }
    try {
      parseJson(text);
    } catch (e) {
      assert.ok(e instanceof QgaProtocolError, `${JSON.stringify(text)}: ${String(e)}`);
    }
  }
});

test("replies: return value; error keeps the agent's class and desc; anything else is a protocol error", () => {
  assert.deepEqual(decodeReply('{"return": {}}', "guest-ping"), {});
  assert.equal(decodeReply('{"return": 1795657841747071000}', "guest-get-time"), 1795657841747071000n);
  assert.throws(
    () =>
      decodeReply('{"error": {"class": "CommandNotFound", "desc": "The command x has not been found"}}', "x"),
    (e) =>
      e instanceof QgaCommandError &&
      e.code === "QGA_COMMAND_FAILED" &&
      e.agentClass === "CommandNotFound" &&
      e.desc === "The command x has not been found" &&
      e.command === "x",
  );
  for (const line of ["not json", "[1]", "null", '{"id": 1}', '"return"']) {
    assert.throws(
      () => decodeReply(line, "guest-info"),
      (e) => e instanceof QgaProtocolError && e.command === "guest-info" && e.code === "QGA_PROTOCOL",
      line,
    );
  }
  // A hostile error object still gives a typed error with some description.
  assert.throws(() => decodeReply('{"error": 5}', "x"), QgaCommandError);
});

test("lines: split across chunks, several per chunk, blank lines skipped", () => {
  const r = new LineReader();
  assert.deepEqual(r.push(Buffer.from('{"return"')), []);
  assert.deepEqual(r.push(Buffer.from(': 1}\n\n{"return": 2}\n{"ret')), [
    { type: "line", text: '{"return": 1}' },
    { type: "line", text: '{"return": 2}' },
  ]);
  assert.deepEqual(r.push(Buffer.from('urn": 3}\r\n')), [{ type: "line", text: '{"return": 3}\r' }]);
});

test("resync: everything before the agent's 0xFF is dropped, including a half line and the stray-byte error", () => {
  const r = new LineReader();
  r.push(Buffer.from('{"return": {"half'));
  r.awaitDelimiter();
  const stray = '{"error": {"class": "GenericError", "desc": "JSON parse error, stray \'\\ufffd\'"}}\n';
  const frames = r.push(
    Buffer.concat([Buffer.from(stray), Buffer.of(0xff), Buffer.from('{"return": 42}\n')]),
  );
  assert.deepEqual(frames, [{ type: "delimiter" }, { type: "line", text: '{"return": 42}' }]);
  // Outside a resync, a 0xFF also drops the partial line before it.
  assert.deepEqual(r.push(Buffer.concat([Buffer.from('{"par'), Buffer.of(0xff), Buffer.from("{}\n")])), [
    { type: "delimiter" },
    { type: "line", text: "{}" },
  ]);
});

test("hostile streams: an endless line is reported once and skipped with bounded memory; invalid UTF-8 is typed", () => {
  const r = new LineReader(1024);
  const frames = [];
  // 64 MiB of garbage without a newline, in 64 KiB chunks: one error, nothing buffered.
  const junk = Buffer.alloc(64 * 1024, 0x41);
  for (let i = 0; i < 1024; i++) frames.push(...r.push(junk));
  assert.equal(frames.length, 1);
  assert.equal(frames[0]!.type, "error");
  assert.ok(frames[0]!.type === "error" && frames[0]!.error instanceof QgaProtocolError);
  // The newline ends the skipped line; the next line is read normally.
  assert.deepEqual(r.push(Buffer.from('AAAA\n{"return": 1}\n')), [{ type: "line", text: '{"return": 1}' }]);
  const bad = r.push(Buffer.concat([Buffer.of(0x7b, 0xc3, 0x28, 0x7d, 0x0a), Buffer.from("{}\n")]));
  assert.equal(bad[0]!.type, "error");
  assert.deepEqual(bad[1], { type: "line", text: "{}" });
});

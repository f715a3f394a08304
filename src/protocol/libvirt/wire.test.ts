import assert from "node:assert/strict";
import { test } from "node:test";
import { decode, encode } from "../xdr/codec.ts";
import { XdrError } from "../xdr/errors.ts";
import { domain, uuid } from "./wire.ts";

/** What the UUID encoder accepts, as it was written before the hand-written parser. */
const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

test("uuid: bytes, canonical text back, hyphens optional, case-insensitive", () => {
  const u = "6695eb01-f6a4-8304-79aa-97f2502e193f";
  assert.equal(encode(uuid, u).toString("hex"), u.replaceAll("-", ""));
  assert.equal(decode(uuid, encode(uuid, u)), u);
  assert.equal(decode(uuid, encode(uuid, u.replaceAll("-", "").toUpperCase())), u);
  const d = { name: "vm", uuid: u, id: 3 };
  assert.deepEqual(decode(domain, encode(domain, d)), d);
});

test("uuid: the parser accepts exactly what the regular expression accepts (fuzzed)", () => {
  const base = "0123456789abcdefABCDEF-g ";
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const cases = [
    "",
    "6695eb01f6a4830479aa97f2502e193f",
    "6695eb01-f6a4-8304-79aa-97f2502e193f",
    "6695eb01--f6a4-8304-79aa-97f2502e193f",
    "-6695eb01f6a4830479aa97f2502e193f",
    "6695eb01f6a4830479aa97f2502e193f-",
    "6695eb0-1f6a4-8304-79aa-97f2502e193f",
    "6695eb01-f6a4-8304-79aa-97f2502e193f0",
    "6695eb01-f6a4-8304-79aa-97f2502e193",
    "6695eb01-f6a4-8304-79aa-97f2502e193g",
    "6695eb01\u0130f6a4-8304-79aa-97f2502e193f",
  ];
  for (let i = 0; i < 20000; i++) {
    const hyphens = [8, 12, 16, 20].filter(() => rand(2) === 0);
    let s = "";
    for (let k = 0; k < 32; k++) {
      if (hyphens.includes(k)) s += "-";
      s += base[rand(16)];
    }
    // Mutate a fraction: replace, insert or delete one character.
    const at = rand(s.length + 1);
    const c = base[rand(base.length)]!;
    const m = rand(6);
    if (m === 0) s = s.slice(0, at) + c + s.slice(at + 1);
    else if (m === 1) s = s.slice(0, at) + c + s.slice(at);
    else if (m === 2) s = s.slice(0, at) + s.slice(at + 1);
    cases.push(s);
  }
  let accepted = 0;
  for (const s of cases) {
    const ok = UUID_RE.test(s);
    if (ok) {
      accepted++;
      assert.equal(encode(uuid, s).toString("hex"), s.replaceAll("-", "").toLowerCase(), s);
    } else assert.throws(() => encode(uuid, s), XdrError, s);
  }
  assert.ok(accepted > 1000 && accepted < cases.length - 1000, `both kinds covered (${accepted})`);
});

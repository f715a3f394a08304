import assert from "node:assert/strict";
import crypto from "node:crypto";
import { mock, test } from "node:test";
import { ConfigError } from "../errors.ts";
import { controlToken, loadControlToken } from "./token.ts";

const SECRET = "s3cret-s3cret-s3cret";

test("controlToken: matches only the same token, through a constant-time compare of digests", () => {
  const compare = mock.method(crypto, "timingSafeEqual");
  try {
    const t = controlToken(SECRET);
    assert.equal(t.matches(SECRET), true);
    assert.equal(t.matches(`${SECRET}x`), false);
    assert.equal(t.matches(""), false);
    assert.equal(compare.mock.callCount(), 3);
    // Both sides are 32-byte digests: the length of the guess never short-circuits the comparison.
    for (const c of compare.mock.calls)
      assert.deepEqual([c.arguments[0].byteLength, c.arguments[1].byteLength], [32, 32]);
  } finally {
    compare.mock.restore();
  }
});

test("controlToken: the id names the token without revealing it", () => {
  const t = controlToken(SECRET);
  assert.match(t.id, /^token:[0-9a-f]{12}$/);
  assert.ok(!t.id.includes(SECRET));
  assert.equal(controlToken(SECRET).id, t.id);
});

test("loadControlToken: none configured is null (control disabled)", () => {
  assert.equal(loadControlToken({ token: null, tokenFile: null }), null);
});

test("loadControlToken: a token file must be 0600 or stricter, and the token long enough", () => {
  const file = (mode: number, text = `${SECRET}\n`) => ({
    token: null,
    tokenFile: "/etc/kvmon/token",
    fileMode: () => 0o100000 | mode,
    readFile: () => text,
  });
  assert.ok(loadControlToken(file(0o600))?.matches(SECRET)); // trailing newline trimmed
  assert.ok(loadControlToken(file(0o400)));
  assert.throws(
    () => loadControlToken(file(0o644)),
    (e) => e instanceof ConfigError && e.key === "controlTokenFile" && /mode 644.*chmod 600/.test(e.message),
  );
  assert.throws(() => loadControlToken(file(0o640)), ConfigError);
  assert.throws(() => loadControlToken(file(0o600, "short")), /at least 16/);
  assert.throws(() => loadControlToken({ token: "short", tokenFile: null }), /at least 16/);
  assert.throws(() => loadControlToken({ ...file(0o600), token: SECRET }), /either/);
  assert.throws(
    () =>
      loadControlToken({
        ...file(0o600),
        fileMode: () => {
          throw new Error("ENOENT");
        },
      }),
    /cannot read: ENOENT/,
  );
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { KEYS } from "../../agent/config.ts";
import { collectors } from "../../collectors/registry.ts";

import { captureIo } from "../testing.ts";
import { run } from "../main.ts";

test("kvmon agent --help lists every flag, its env variable and every collector", async () => {
  const io = captureIo();
  assert.equal(await run(["agent", "--help"], io), 0);
  for (const k of KEYS) {
    assert.match(io.stdout, new RegExp(`--${k.flag} `), k.flag);
    assert.match(io.stdout, new RegExp(k.env), k.env);
  }
  assert.match(io.stdout, /--config/);
  for (const c of collectors) assert.match(io.stdout, new RegExp(`^  ${c.name} `, "m"), c.name);
});

test("bad config exits 1 with the key and its origin; unknown flags exit 2", async () => {
  let io = captureIo();
  assert.equal(await run(["agent", "--interval", "0"], io), 1);
  assert.match(io.stderr, /config interval \(flag --interval\): must be at least 1/);
  io = captureIo();
  assert.equal(await run(["agent", "--intervall", "5"], io), 2);
  assert.match(io.stderr, /Unknown option '--intervall'/);
  io = captureIo();
  assert.equal(await run(["agent", "extra"], io), 2);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { colors, colorsEnabled } from "./colors.ts";

test("colours only on a terminal, and never with NO_COLOR or TERM=dumb", () => {
  assert.equal(colorsEnabled({ isTTY: true }, {}), true);
  assert.equal(colorsEnabled({ isTTY: false }, {}), false);
  assert.equal(colorsEnabled({}, {}), false);
  assert.equal(colorsEnabled({ isTTY: true }, { NO_COLOR: "1" }), false);
  assert.equal(colorsEnabled({ isTTY: true }, { NO_COLOR: "" }), true, "an empty NO_COLOR does not count");
  assert.equal(colorsEnabled({ isTTY: true }, { TERM: "dumb" }), false);
  assert.equal(colors(false).red("x"), "x");
  assert.equal(colors(true).red("x"), "\x1b[31mx\x1b[39m");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { XmlError } from "./errors.ts";
import { child, childText, parseXml } from "./xml.ts";

test("elements, attributes in both quote styles, entities, CDATA, comments, declarations", () => {
  const root = parseXml(`<?xml version="1.0"?>
<!-- a comment -->
<a x='1' y="two &amp; &quot;three&quot;">
  <b>t &lt;&#65;&#x42;&gt;</b><c/><d><![CDATA[<raw & text>]]></d>
</a>`);
  assert.equal(root.name, "a");
  assert.deepEqual(root.attrs, { x: "1", y: 'two & "three"' });
  assert.equal(childText(root, "b"), "t <AB>");
  assert.ok(child(root, "c"));
  assert.equal(childText(root, "d"), "<raw & text>");
});

test("errors: mismatched, unclosed, two roots, garbage", () => {
  assert.throws(() => parseXml("<a><b></a>"), XmlError);
  assert.throws(() => parseXml("<a>"), /unclosed <a>/);
  assert.throws(() => parseXml("<a/><b/>"), /second root/);
  assert.throws(() => parseXml("text"), XmlError);
  assert.throws(() => parseXml("<a x=1/>"), /bad attribute/);
  assert.throws(() => parseXml(""), /no root/);
});

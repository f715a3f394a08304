import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { Postings, SeriesDictionary, canonicalKey, labelsHash, labelsOfKey } from "./labels.ts";

describe("series dictionary", () => {
  it("finds a label set whatever the order of its pairs, and only an equal one", () => {
    const dict = new SeriesDictionary<{ labels: Record<string, string> }>();
    const entry = { labels: { __name__: "up", host: "h1", job: "kvmon" } };
    dict.add(entry);
    assert.equal(dict.get({ job: "kvmon", host: "h1", __name__: "up" }), entry);
    assert.equal(dict.get({ __name__: "up", host: "h1" }), undefined);
    assert.equal(dict.get({ __name__: "up", host: "h1", job: "kvmon", x: "" }), undefined);
    assert.equal(dict.get({ __name__: "up", host: "h2", job: "kvmon" }), undefined);
    dict.delete(entry);
    assert.equal(dict.get(entry.labels), undefined);
  });

  it("keeps label sets whose hashes collide apart", () => {
    const seen = new Map<number, Record<string, string>>();
    let pair: [Record<string, string>, Record<string, string>] | undefined;
    for (let i = 0; !pair; i++) {
      const labels = { __name__: "m", id: String(i) };
      const other = seen.get(labelsHash(labels));
      if (other) pair = [other, labels];
      else seen.set(labelsHash(labels), labels);
    }
    const dict = new SeriesDictionary<{ labels: Record<string, string> }>();
    const [a, b] = pair.map((labels) => ({ labels }));
    dict.add(a!);
    dict.add(b!);
    assert.equal(dict.get({ ...a!.labels }), a);
    assert.equal(dict.get({ ...b!.labels }), b);
    dict.delete(a!);
    assert.equal(dict.get(a!.labels), undefined);
    assert.equal(dict.get(b!.labels), b);
  });

  it("round-trips canonical keys, values with quotes, newlines and unicode included", () => {
    const labels = { z: 'a "quoted"\nline', a: "ü\u0000", __name__: "x" };
    const key = canonicalKey(labels);
    assert.equal(key, canonicalKey({ __name__: "x", a: "ü\u0000", z: 'a "quoted"\nline' }));
    assert.deepEqual(labelsOfKey(key), labels);
    assert.deepEqual(Object.keys(labelsOfKey(key)), ["__name__", "a", "z"]);
  });
});

describe("postings", () => {
  it("removes a series from every list it was in", () => {
    const p = new Postings();
    p.add(1, { a: "x", b: "y" });
    p.add(2, { a: "x" });
    p.remove(1, { a: "x", b: "y" });
    assert.deepEqual(p.select([{ name: "a", op: "=", value: "x" }]), [2]);
    assert.deepEqual(p.select([{ name: "b", op: "=~", value: ".+" }]), []);
    assert.equal(p.size, 1);
  });
});

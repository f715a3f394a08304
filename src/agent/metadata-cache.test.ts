import assert from "node:assert/strict";
import { test } from "node:test";
import { loadStats, loadXml } from "../collectors/fixtures/load.ts";
import { LifecycleEventType } from "../protocol/libvirt/types.ts";
import { Logger, ProblemLog } from "./log.ts";
import { MetadataCache } from "./metadata-cache.ts";
import { FakeSource } from "./testing/fake-source.ts";

function setup() {
  const source = new FakeSource();
  const lines: Record<string, unknown>[] = [];
  const problems = new ProblemLog(new Logger((l) => lines.push(JSON.parse(l))));
  const cache = new MetadataCache(source, problems, { timeoutMs: 1000, concurrency: 2 });
  const dom = loadStats("tcg-1.stats").record.domain;
  return { source, lines, cache, dom };
}

test("fetched once; concurrent refreshes do not fetch the same domain twice", async () => {
  const { source, cache, dom } = setup();
  source.xml.set(dom.uuid, loadXml("tcg.xml"));
  await Promise.all([cache.refresh([dom]), cache.refresh([dom])]);
  await cache.refresh([dom]);
  assert.equal(source.xmlCalls, 1);
  assert.equal(cache.get(dom.uuid)!.disks[0]!.target, "vda");
});

test("a failed fetch keeps the previous metadata, logs once, and is retried on the next refresh", async () => {
  const { source, cache, dom, lines } = setup();
  source.xml.set(dom.uuid, loadXml("tcg.xml"));
  await cache.refresh([dom]);
  cache.onEvent({ domain: dom, event: LifecycleEventType.DEFINED, detail: 0 });
  source.xml.delete(dom.uuid);
  await cache.refresh([dom]);
  await cache.refresh([dom]);
  assert.equal(source.xmlCalls, 3);
  assert.equal(cache.get(dom.uuid)!.disks[0]!.target, "vda", "previous metadata kept");
  assert.equal(lines.filter((l) => l.level === "warn").length, 1);
  source.xml.set(dom.uuid, loadXml("tcg.xml"));
  await cache.refresh([dom]);
  assert.equal(lines.at(-1)!.msg, "domain metadata readable again");
});

test("a device the XML does not know (hot-plug) triggers one re-read, not one per interval", async () => {
  const { source, cache, dom } = setup();
  source.xml.set(dom.uuid, loadXml("tcg.xml"));
  await cache.refresh([dom]);
  const sample = { uuid: dom.uuid, block: [{ name: "vdb" }], interfaces: [] } as never;
  cache.checkDevices(sample);
  await cache.refresh([dom]);
  cache.checkDevices(sample);
  await cache.refresh([dom]);
  assert.equal(source.xmlCalls, 2);
  cache.checkDevices({ uuid: dom.uuid, block: [{ name: "vda" }], interfaces: [{ name: "vnet8" }] } as never);
  await cache.refresh([dom]);
  assert.equal(source.xmlCalls, 2, "known devices: no re-read");
});

test("reconnect invalidates everything; undefine and retain drop entries", async () => {
  const { source, cache, dom } = setup();
  source.xml.set(dom.uuid, loadXml("tcg.xml"));
  await cache.refresh([dom]);
  cache.invalidateAll();
  await cache.refresh([dom]);
  assert.equal(source.xmlCalls, 2);
  cache.retain(new Set());
  assert.equal(cache.get(dom.uuid), undefined);
});

test("a domain that vanished before its XML could be read leaves no open problem behind", async () => {
  const source = new FakeSource();
  const problems = new ProblemLog(new Logger(() => {}));
  const cache = new MetadataCache(source, problems, { timeoutMs: 1000 });
  const dom = loadStats("tcg-1.stats").record.domain;
  await cache.refresh([dom]); // no XML: fails like "Domain not found"
  assert.deepEqual(problems.openKeys(), [`metadata:${dom.uuid}`]);
  cache.retain(new Set()); // next collection: the domain is gone
  assert.deepEqual(problems.openKeys(), []);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDomainMetadata } from "./domain-xml.ts";
import { near, sampleSeries } from "./fixtures/harness.ts";
import { loadXml } from "./fixtures/load.ts";
import { interfaceCollector } from "./interface.ts";

const DT = (1795480687324 - 1795480679244) / 1000;

test("per-NIC rates: 200 frames of 1000 bytes sent from the host into the guest's tap", () => {
  const metadata = parseDomainMetadata(loadXml("tcg.xml"), 0);
  const [, s] = sampleSeries([interfaceCollector], ["tcg-1.stats", "tcg-2.stats"], { metadata }).samples;
  const nic = s!.interfaces![0]!;
  assert.equal(nic.name, "vnet8");
  assert.equal(nic.mac, "52:54:00:4b:00:01");
  assert.equal(nic.rxBytes!.total, 200726);
  near(nic.rxBytes!.perSecond, 200000 / DT, "rx B/s");
  near(nic.rxPackets!.perSecond, 200 / DT, "rx pkt/s");
  near(nic.txBytes!.perSecond, (852 - 726) / DT, "tx B/s");
  near(nic.txPackets!.perSecond, 3 / DT, "tx pkt/s");
  assert.equal(nic.rxErrors!.perSecond, 0);
  assert.equal(nic.txDrops!.perSecond, 0);
});

test("without metadata the MAC is unknown, and the tap name is still the key", () => {
  const [s] = sampleSeries([interfaceCollector], ["tcg-1.stats"]).samples;
  assert.equal(s!.interfaces![0]!.mac, null);
  assert.equal(s!.interfaces![0]!.name, "vnet8");
});
